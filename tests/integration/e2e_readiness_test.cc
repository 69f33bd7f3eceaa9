// SPDX-License-Identifier: Apache-2.0
// The probes an operator's monitoring watches (issue 11), end to end with the real agent,
// mosquitto and collector over real TLS. /healthz is liveness: 200 while the agent runs,
// whatever the broker, the receiver or the disk do. /readyz is readiness: 503 naming the
// failing condition while the broker is down, or once the uplink has failed for longer than
// its threshold (max(2 x uplink.retry.max, 10 s); the fixture's retry.max is 1 s, so 10 s)
// because the receiver's certificate comes from a CA the agent does not trust; 200 again as
// soon as the cause is fixed, without restarting the agent.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

constexpr auto kUplinkThreshold = seconds(10);  // agent/health.h with retry.max 1 s

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

std::vector<PublishedEvent> Publish(E2eStack& stack, int count) {
  RequireOk(stack.StartSim({"--count", std::to_string(count), "--rate", "500", "--devices", "5",
                            "--seed", std::to_string(TestSeed())}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> log = ReadPublishLog(stack.PublishLogPath());
  RequireOk(log.status());
  REQUIRE(log->size() == static_cast<size_t>(count));
  return *log;
}

TEST_CASE(
    "an untrusted receiver makes /readyz 503 after the threshold, /healthz stays 200, "
    "and a trusted one makes it ready without a restart",
    "[integration][issue-11]") {
  StackOptions options;
  options.collector_untrusted_cert = true;
  E2eStack stack("ready-untrusted", options);
  RequireOk(stack.Start(), &stack);
  const int pid = stack.AgentPid();
  CHECK(stack.Probe("/readyz").status == 200);  // nothing to send yet: nothing failed

  const auto publish_started = Steady::now();
  std::vector<PublishedEvent> published = Publish(stack, 50);
  REQUIRE(WaitUntil(
      [&] { return stack.Metric("tidegate_uplink_untrusted_peer_total").value_or(0) >= 1; },
      seconds(30), milliseconds(50)));
  // Refused, but not for long yet. Checked only when the machine was not stalled for
  // most of the threshold meanwhile (then the answer may rightly be 503 already).
  if (Steady::now() - publish_started < kUplinkThreshold / 2) {
    HttpResponse early = stack.Probe("/readyz");
    INFO(early.body);
    CHECK(early.status == 200);
  }

  HttpResponse ready;
  const bool not_ready = WaitUntil(
      [&] {
        ready = stack.Probe("/readyz");
        return ready.status == 503;
      },
      seconds(60), milliseconds(200));
  if (!not_ready) FAIL("/readyz never turned 503\n" << stack.Diagnostics());
  // The failures began after the publish started: the threshold was honoured.
  CHECK(Steady::now() - publish_started >= kUplinkThreshold);
  INFO(ready.body);
  CHECK(Contains(ready.body, "uplink not delivering for "));
  CHECK(Contains(ready.body, "(threshold 10 s, "));
  CHECK(Contains(ready.body, "certificate does not verify against uplink.tls"));
  CHECK_FALSE(Contains(ready.body, "mqtt"));
  CHECK_FALSE(Contains(ready.body, "buffer"));
  HttpResponse live = stack.Probe("/healthz");
  CHECK(live.status == 200);
  CHECK(live.body == "ok\n");

  // The fix: the receiver gets a certificate from the CA the agent trusts, same port.
  RequireOk(stack.StopCollector(), &stack);
  stack.mutable_options().collector_untrusted_cert = false;
  RequireOk(stack.StartCollector(), &stack);
  const bool ready_again = WaitUntil([&] { return stack.Probe("/readyz").status == 200; },
                                     seconds(30), milliseconds(100));
  if (!ready_again) FAIL("/readyz stayed 503 after the fix\n" << stack.Diagnostics());
  CHECK(stack.Probe("/readyz").body == "ok\n");
  CHECK(stack.AgentRunning());
  CHECK(stack.AgentPid() == pid);  // no restart
  if (!stack.WaitForLanded(published.size(), seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  DeliveryReport report = CompareByMsgId(published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  RequireOk(stack.StopAgent(), &stack);
}

TEST_CASE("/readyz is 503 naming the broker while it is down, /healthz stays 200",
          "[integration][issue-11]") {
  E2eStack stack("ready-broker-down");
  RequireOk(stack.Start(), &stack);
  REQUIRE(WaitUntil([&] { return stack.Probe("/readyz").status == 200; }, seconds(10)));

  RequireOk(stack.broker().Stop(), &stack);
  HttpResponse ready;
  const bool not_ready = WaitUntil(
      [&] {
        ready = stack.Probe("/readyz");
        return ready.status == 503;
      },
      seconds(15), milliseconds(50));
  if (!not_ready) FAIL("/readyz stayed 200 with the broker down\n" << stack.Diagnostics());
  INFO(ready.body);
  CHECK(Contains(ready.body, "mqtt source not connected: "));
  CHECK_FALSE(Contains(ready.body, "uplink"));
  CHECK(stack.Probe("/healthz").status == 200);
  CHECK(stack.AgentRunning());

  stack.ExpectReconnect();
  RequireOk(stack.broker().Restart(), &stack);
  RequireOk(stack.WaitAgentConnected(seconds(40)), &stack);
  CHECK(WaitUntil([&] { return stack.Probe("/readyz").status == 200; }, seconds(10)));
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
