// SPDX-License-Identifier: Apache-2.0
// Issue 10 end to end, real parts only: an agent whose every duration is at the maximum
// `config check` allows (linger 1m, retry 1h, max_age 365d, state_ttl 30d, skew and dedup
// 7d, 7-day windows, commit every 10s, ...) still lands every event exactly once, because a
// full batch goes at once whatever the linger, and stops cleanly. Under the sanitizer build
// UBSan watches every deadline and expiry computed from these values.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

constexpr uint64_t kSeed = 10;    // the simulator's; fixed, printed
constexpr int kBatchEvents = 25;  // uplink.batch.max_events: every batch fills
constexpr int kEvents = 4 * kBatchEvents;

// Every duration at its maximum (agent/config_key_table.cc), besides those in StackOptions.
std::string MaxDurationsYaml(const std::string& keys) {
  return "privacy:\n"
         "  recipient_public_key: " +
         keys +
         "/recipient.pub\n"
         "  key_epoch: 30d\n"
         "  rules:\n"
         "    - {match: devices/+/telemetry, encrypt: [/user/phone]}\n"
         "dedup:\n"
         "  window: 7d\n"
         "aggregate:\n"
         "  - name: week\n"
         "    match: devices/+/telemetry\n"
         "    group_by: [device_id]\n"
         "    window: {tumbling: 7d}\n"
         "    measures: {/temp: [count, avg]}\n"
         "    watermark: {max_out_of_order: 1d, idle_timeout: 7d}\n"
         "    allowed_lateness: 7d\n"
         "remote_config:\n"
         "  poll_interval: 1d\n"
         "  rollback_after: 1d\n";
}

TEST_CASE("with every duration at its maximum, full batches land at once and nothing overflows",
          "[integration][issue-10]") {
  E2eStack stack("e2e-max-durations");
  const std::string keys = stack.dir().File("keys");
  Result<CommandResult> init = stack.RunTidegate({"keys", "init", "--dir", keys});
  RequireOk(init.status());
  REQUIRE(init->exit_code == 0);
  StackOptions& o = stack.mutable_options();
  o.topics_yaml =
      "      - {filter: devices/+/telemetry, qos: 1, priority: 5}\n"
      "    keepalive: 65535s\n";
  o.events_yaml = "  id: {field: /msg_id}\n  max_future_skew: 7d\n";
  o.buffer_yaml = "  max_age: 365d\n  commit_interval: 10s\n  state_ttl: 30d\n";
  o.uplink_batch_retry_yaml = "  batch: {max_events: " + std::to_string(kBatchEvents) +
                              ", linger: 1m}\n  retry: {initial: 1h, max: 1h}\n";
  o.uplink_extra_yaml = "  connect_timeout: 5m\n  request_timeout: 1h\n";
  o.extra_agent_yaml = MaxDurationsYaml(keys);
  RequireOk(stack.Start(), &stack);
  Result<CommandResult> check = stack.RunTidegate({"config", "check", stack.AgentConfigPath()});
  RequireOk(check.status());
  INFO(check->stderr_text);
  REQUIRE(check->exit_code == 0);

  std::fprintf(stderr, "simulator seed %llu\n", static_cast<unsigned long long>(kSeed));
  RequireOk(stack.StartSim({"--count", std::to_string(kEvents), "--rate", "500", "--devices", "5",
                            "--seed", std::to_string(kSeed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == static_cast<size_t>(kEvents));

  // Up to one commit_interval (10s) to be committed, then each full batch goes at once; a
  // batch held for the 1m linger would not land in time.
  const auto start = std::chrono::steady_clock::now();
  if (!stack.WaitForLanded(kEvents, seconds(40))) {
    FAIL("full batches did not land before the linger\n" << stack.Diagnostics());
  }
  std::fprintf(stderr, "landed %d events in %lld ms after the last publish\n", kEvents,
               static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count()));
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  DeliveryReport report = CompareByMsgId(*published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());

  CHECK(stack.AgentRunning());
  CHECK(stack.Metric("tidegate_batches_retried_total") == 0.0);
  CHECK(stack.Metric("tidegate_dead_letters") == 0.0);
  CHECK(stack.Metric("tidegate_duplicates_total") == 0.0);
  // A clean stop interrupts the uplink's waits (up to 1h) instead of sitting them out.
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
