// SPDX-License-Identifier: Apache-2.0
// End to end through failures, real parts only: the agent stopped and restarted while
// devices keep publishing (the broker queues for its persistent session), and the receiver
// down for ten seconds (the agent buffers, retries and catches up). Nothing may be lost and
// nothing may land twice.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Waits until the running agent has received at least n messages (its /metrics).
bool WaitForReceived(E2eStack& stack, double n, milliseconds timeout) {
  return WaitUntil([&] { return stack.Metric("tidegate_received_total").value_or(0) >= n; },
                   timeout, milliseconds(50));
}

// Waits for the simulator, then for every published event to land and the agent's buffer to
// drain, and returns the comparison.
DeliveryReport FinishAndCompare(E2eStack& stack, size_t expected) {
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == expected);
  if (!stack.WaitForLanded(expected, seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
  if (!stack.WaitForDrained(seconds(30))) FAIL("buffer not drained\n" << stack.Diagnostics());
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  return CompareByMsgId(*published, *landed);
}

TEST_CASE("an agent stopped with SIGTERM mid-stream and restarted loses and repeats nothing",
          "[integration]") {
  E2eStack stack("e2e-agent-restart");
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);

  // 20,000 events at 4,000/s: about 5 s of publishing. The agent goes down once it has
  // received 4,000 (after about 1 s, earlier than that on a loaded machine) and comes back
  // 2 s later, while the simulator keeps publishing.
  RequireOk(stack.StartSim({"--count", "20000", "--rate", "4000", "--devices", "50", "--seed",
                            std::to_string(seed)}),
            &stack);
  if (!WaitForReceived(stack, 4000, seconds(20))) {
    FAIL("agent not receiving\n" << stack.Diagnostics());
  }
  CHECK(stack.SimRunning());  // mid-stream
  RequireOk(stack.StopAgent(), &stack);
  std::this_thread::sleep_for(seconds(2));
  RequireOk(stack.StartAgent(), &stack);
  // The broker kept the session and queued for it; the agent said so when it reconnected.
  CHECK(ReadFile(stack.AgentLogPath()).find("(session resumed)") != std::string::npos);
  CHECK(ReadFile(stack.AgentLogPath()).find("stopped cleanly") != std::string::npos);

  DeliveryReport report = FinishAndCompare(stack, 20000);
  INFO(report.ToString());
  CHECK(report.missing == 0);
  CHECK(report.duplicated == 0);
  CHECK(report.unknown == 0);
  CHECK(report.landed == 20000);
  // The second run of the agent received what the broker queued while it was down.
  CHECK(stack.Metric("tidegate_received_total").value_or(0) > 0);
}

TEST_CASE("a receiver down for 10 s mid-stream gets every event exactly once when it returns",
          "[integration]") {
  E2eStack stack("e2e-collector-outage");
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);

  // 15,000 events at 1,500/s: about 10 s of publishing; the collector is away from about
  // 1 s to 11 s, so most of the stream is buffered by the agent.
  RequireOk(stack.StartSim({"--count", "15000", "--rate", "1500", "--devices", "50", "--seed",
                            std::to_string(seed)}),
            &stack);
  bool acked =
      WaitUntil([&] { return stack.Metric("tidegate_events_acked_total").value_or(0) >= 1000; },
                seconds(20), milliseconds(50));
  if (!acked) FAIL("nothing acknowledged before the outage\n" << stack.Diagnostics());
  CHECK(stack.SimRunning());  // mid-stream
  RequireOk(stack.StopCollector(), &stack);
  std::this_thread::sleep_for(seconds(10));
  // The outage was felt: sends failed and were retried, and events piled up in the buffer.
  CHECK(stack.Metric("tidegate_batches_retried_total").value_or(0) > 0);
  CHECK(stack.Metric("tidegate_buffer_records").value_or(0) > 0);
  RequireOk(stack.StartCollector(), &stack);

  DeliveryReport report = FinishAndCompare(stack, 15000);
  INFO(report.ToString());
  CHECK(report.missing == 0);
  CHECK(report.duplicated == 0);
  CHECK(report.unknown == 0);
  CHECK(report.landed == 15000);
  CHECK(stack.AgentRunning());
  CHECK(stack.Metric("tidegate_batches_retried_total").value_or(0) > 0);
}

}  // namespace
}  // namespace tidegate::testing
