// SPDX-License-Identifier: Apache-2.0
// kill -9 chaos, real parts only: while tidegate-sim publishes 100,000 QoS 1 events at a
// steady rate, the agent is SIGKILLed at random moments (seeded by TestSeed()) and restarted
// each time, with buffer.commit_interval 0. SPEC: a kill loses at most what arrived since the
// last commit. Over a plain connection to the broker the agent also holds each PUBACK back
// until the message was committed (libmosquitto writes it before the callback runs;
// agent/socket_buffer.h, docs/guarantees.md), so a kill loses nothing: the broker resends what
// was not acknowledged. Batches in flight are resent under the same batch id, so
// nothing lands twice. The test prints published, landed, missing, duplicates and kills on
// stderr.
// Soak variant outside CI: TIDEGATE_SOAK_EVENTS=600000 TIDEGATE_SOAK_KILLS=80 runs longer
// (kills keep coming while the simulator publishes, up to that many).
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kRate = 5000;
constexpr int kMinKills = 10;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): tests do not setenv
  return value != nullptr && std::atoi(value) > 0 ? std::atoi(value) : fallback;
}

TEST_CASE("SIGKILLed at random moments, the agent loses no event and repeats none",
          "[integration][crash][slow]") {
  const int events = EnvInt("TIDEGATE_SOAK_EVENTS", 100000);
  const int max_kills = EnvInt("TIDEGATE_SOAK_KILLS", 16);
  E2eStack stack("e2e-chaos-kill", {.buffer_yaml = "  commit_interval: 0\n"});
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  Rng rng(seed);
  std::fprintf(stderr, "[chaos-kill] seed %llu\n", static_cast<unsigned long long>(seed));

  RequireOk(stack.StartSim({"--count", std::to_string(events), "--rate", std::to_string(kRate),
                            "--devices", "50", "--seed", std::to_string(seed)}),
            &stack);
  int kills = 0;
  int kills_while_publishing = 0;
  const auto start = std::chrono::steady_clock::now();
  while (kills < max_kills && (stack.SimRunning() || kills < kMinKills)) {
    std::this_thread::sleep_for(milliseconds(200 + rng.Uniform(1000)));
    if (stack.SimRunning()) ++kills_while_publishing;
    stack.KillAgent();
    ++kills;
    std::this_thread::sleep_for(milliseconds(rng.Uniform(500)));  // down for a moment
    RequireOk(stack.StartAgent(), &stack);
  }
  const double chaos_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  Result<int> sim_exit = stack.WaitSim(seconds(60 + events / kRate));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == static_cast<size_t>(events));
  // Everything that can land has landed once the broker's queue for the agent is empty and
  // the buffer has drained; the received count then stops moving.
  stack.WaitForLanded(static_cast<size_t>(events), seconds(60));
  double received = -1;
  bool settled = WaitUntil(
      [&] {
        double now = stack.Metric("tidegate_received_total").value_or(-1);
        bool same = now == received;
        received = now;
        return same && stack.Metric("tidegate_buffer_records") == 0.0;
      },
      seconds(30), milliseconds(500));
  if (!settled) FAIL("the agent did not settle\n" << stack.Diagnostics());
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  DeliveryReport report = CompareByMsgId(*published, *landed);

  std::fprintf(stderr,
               "[chaos-kill] published=%zu landed=%zu missing=%zu duplicates=%zu unknown=%zu "
               "kills=%d (while publishing %d) over %.1f s, retries in last run=%.0f\n",
               report.published, report.landed, report.missing, report.duplicated, report.unknown,
               kills, kills_while_publishing, chaos_s,
               stack.Metric("tidegate_batches_retried_total").value_or(-1));
  INFO(report.ToString() << "\nkills " << kills << "\n" << stack.Diagnostics());
  CHECK(kills >= kMinKills);
  CHECK(kills_while_publishing >= kMinKills);
  CHECK(report.duplicated == 0);
  CHECK(report.unknown == 0);
  CHECK(report.missing == 0);
  CHECK(stack.AgentRunning());
}

}  // namespace
}  // namespace tidegate::testing
