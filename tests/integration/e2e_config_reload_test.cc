// SPDX-License-Identifier: Apache-2.0
// SIGHUP reloads the agent's config file while events stream (SPEC "Remote config"): a valid
// file's new privacy rule takes effect between two messages and every event still lands
// exactly once, and an aggregation the reload did not change keeps its windows (they equal
// the reference computation of tests/integration/aggregate_reference.h); an invalid file is
// refused, counted, and the agent keeps delivering.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/aggregate_reference.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kEvents = 3000;

const std::string kDropEmail =
    "privacy:\n  rules:\n    - match: devices/+/telemetry\n      drop: [/user/email]\n";

const std::string kAggregate = R"(aggregate:
  - name: temp_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures:
      /temp: [count, sum, min, max, avg]
    watermark: {max_out_of_order: 2s, idle_timeout: 3s}
)";

Result<std::vector<LandedAggregate>> DumpAggregates(E2eStack& stack) {
  TG_ASSIGN_OR_RETURN(CommandResult dump,
                      RunCommand({BinaryPath("tidegate-collector"), "dump", "--store",
                                  stack.CollectorStore(), "aggregates"},
                                 seconds(30)));
  if (dump.exit_code != 0) return Internal("dump aggregates failed: " + dump.stderr_text);
  return ParseLandedAggregates(dump.stdout_text);
}

bool HasEmail(const LandedEvent& e) { return e.payload.find("\"email\"") != std::string::npos; }

// Streams `events` at `rate`/s; once `landed_first` have landed, rewrites the config with
// extra_yaml (or writes `raw_text`) and sends SIGHUP. Returns the landed events once all
// arrived.
std::vector<LandedEvent> StreamAndReload(E2eStack& stack, size_t landed_first,
                                         const std::function<void()>& rewrite, int events = kEvents,
                                         int rate = 300) {
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", std::to_string(events), "--rate", std::to_string(rate),
                            "--devices", "20", "--seed", std::to_string(seed)}),
            &stack);
  if (!stack.WaitForLanded(landed_first, seconds(60))) FAIL("no events\n" << stack.Diagnostics());
  rewrite();
  REQUIRE(::kill(stack.AgentPid(), SIGHUP) == 0);
  Result<int> sim_exit = stack.WaitSim(seconds(90));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  if (!stack.WaitForLanded(events, seconds(90))) FAIL("not all landed\n" << stack.Diagnostics());
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  const DeliveryReport report = CompareByMsgId(*published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  return std::move(landed).value();
}

}  // namespace

TEST_CASE("SIGHUP applies a new privacy drop rule while events stream, each landing once",
          "[integration]") {
  E2eStack stack("config-reload");
  RequireOk(stack.Start(), &stack);
  std::vector<LandedEvent> landed = StreamAndReload(stack, 300, [&] {
    stack.mutable_options().extra_agent_yaml = kDropEmail;
    RequireOk(stack.RewriteAgentConfig());
  });
  CHECK(stack.Metric("tidegate_config_applied_total") == 1.0);
  CHECK(stack.Metric("tidegate_config_version") == 0.0);
  // In ingest order (seq), the rule switches on once: emails before, none after.
  std::sort(landed.begin(), landed.end(),
            [](const LandedEvent& a, const LandedEvent& b) { return a.seq < b.seq; });
  size_t first_without = landed.size();
  for (size_t i = 0; i < landed.size(); ++i) {
    if (!HasEmail(landed[i])) {
      first_without = i;
      break;
    }
  }
  INFO("first event without email at " << first_without << " of " << landed.size());
  CHECK(first_without >= 300);
  CHECK(first_without < landed.size() - 300);
  size_t emails_after = 0;
  for (size_t i = first_without; i < landed.size(); ++i) emails_after += HasEmail(landed[i]);
  CHECK(emails_after == 0);
  CHECK(stack.AgentRunning());
}

TEST_CASE("SIGHUP with an invalid file is refused, counted, and delivery goes on",
          "[integration]") {
  E2eStack stack("config-reload-bad");
  RequireOk(stack.Start(), &stack);
  std::vector<LandedEvent> landed = StreamAndReload(stack, 300, [&] {
    RequireOk(WriteFile(stack.AgentConfigPath(),
                        ReadFile(stack.AgentConfigPath()) + "privacy: {rules: 3}\n", 0600));
  });
  CHECK(stack.Metric("tidegate_config_rejected_total{reason=\"invalid_config\"}") == 1.0);
  CHECK(stack.Metric("tidegate_config_applied_total") == 0.0);
  CHECK(stack.AgentRunning());
  size_t without_email = 0;
  for (const LandedEvent& e : landed) without_email += !HasEmail(e);
  CHECK(without_email == 0);
  CHECK(ReadFile(stack.AgentLogPath()).find("privacy.rules") != std::string::npos);
}

}  // namespace tidegate::testing

namespace tidegate::testing {

namespace {

// The landed aggregates compared with the reference over every published reading, polled
// until they agree or 60 s pass.
ComparisonReport CompareTemp10s(E2eStack& stack) {
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  std::vector<Reading> readings;
  for (const PublishedEvent& p : *published) {
    if (!p.duplicate) readings.push_back({p.device_id, p.ts_ms, p.payload});
  }
  const ReferenceOptions options{.name = "temp_10s",
                                 .window_ms = 10'000,
                                 .fields = {{"temp", {"count", "sum", "min", "max", "avg"}}}};
  ComparisonReport report;
  WaitUntil(
      [&] {
        auto aggregates = DumpAggregates(stack);
        if (!aggregates.ok()) return false;
        report = CompareWithReference(readings, *aggregates, options);
        return report.mismatches.empty();
      },
      seconds(60), milliseconds(500));
  return report;
}

// The sum of `field`'s count over the landed windows of aggregation `name` (0 on an error).
double LandedCount(E2eStack& stack, const std::string& name, const std::string& field) {
  auto aggregates = DumpAggregates(stack);
  if (!aggregates.ok()) return 0;
  double count = 0;
  for (const LandedAggregate& a : *aggregates) {
    if (a.name == name) count += a.measures.at(field).at("count");
  }
  return count;
}

}  // namespace

TEST_CASE("SIGHUP keeps the windows of an unchanged aggregation", "[integration][aggregate]") {
  E2eStack stack("config-reload-aggregate");
  stack.mutable_options().extra_agent_yaml = kAggregate;
  RequireOk(stack.Start(), &stack);
  std::vector<LandedEvent> landed = StreamAndReload(stack, 300, [&] {
    stack.mutable_options().extra_agent_yaml = kAggregate + kDropEmail;
    RequireOk(stack.RewriteAgentConfig());
  });
  CHECK(stack.Metric("tidegate_config_applied_total") == 1.0);
  const ComparisonReport report = CompareTemp10s(stack);
  INFO(report.Summary());
  CHECK(report.mismatches.empty());
  CHECK(report.reference_windows >= 20);
}

// A new aggregation and a drop rule applied live while 20,000 events stream: every event
// lands once, the unchanged aggregation equals the reference over all of them, and the new
// one starts with fresh state at the apply (its windows count only what came after).
TEST_CASE("a live apply adds an aggregation mid-stream, the unchanged one carries on",
          "[integration][aggregate]") {
  constexpr int kMany = 20'000;
  const std::string added = R"(  - name: humidity_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures:
      /humidity: [count]
    watermark: {max_out_of_order: 2s, idle_timeout: 3s}
)";
  E2eStack stack("config-reload-aggregate-live");
  stack.mutable_options().extra_agent_yaml = kAggregate;
  RequireOk(stack.Start(), &stack);
  const std::vector<LandedEvent> landed = StreamAndReload(
      stack, kMany / 3,
      [&] {
        stack.mutable_options().extra_agent_yaml = kAggregate + added + kDropEmail;
        RequireOk(stack.RewriteAgentConfig());
      },
      kMany, 2000);
  CHECK(landed.size() == kMany);
  CHECK(stack.Metric("tidegate_config_applied_total") == 1.0);
  const ComparisonReport report = CompareTemp10s(stack);
  INFO(report.Summary());
  CHECK(report.mismatches.empty());
  // The new aggregation landed windows, counting at most the readings ingested after the
  // apply (which came once a third had landed): it started with fresh state.
  double humidity_count = 0;
  REQUIRE(WaitUntil(
      [&] {
        humidity_count = LandedCount(stack, "humidity_10s", "/humidity");
        return humidity_count > 0;
      },
      seconds(60), milliseconds(500)));
  constexpr int kAfterApplyAtMost = kMany - (kMany / 3);
  CHECK(humidity_count <= kAfterApplyAtMost);
  CHECK(ReadFile(stack.AgentLogPath()).find("aggregate: applied live, 2 aggregation(s)") !=
        std::string::npos);
}

}  // namespace tidegate::testing

namespace tidegate::testing {

// The buffer's bounds apply live: with the receiver down, 2,000 events are buffered; a
// reload to max_events 500 drops the oldest 1,500 at once (counted), and once the receiver
// is back exactly the newest 500 land.
TEST_CASE("SIGHUP lowers the buffer bounds and they hold at once", "[integration]") {
  // Batches of at most 40: the batches in flight (never dropped; at most 6 connections, each
  // with one batch prepared ahead) hold at most 480 records, fewer than the 500 kept, however
  // slow the machine.
  StackOptions options;
  options.uplink_batch_retry_yaml =
      "  batch: {linger: 50ms, max_events: 40}\n  retry: {initial: 100ms, max: 1s}\n";
  E2eStack stack("config-reload-bounds", options);
  RequireOk(stack.Start(), &stack);
  RequireOk(stack.StopCollector(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  constexpr int kBuffered = 2000;
  constexpr int kKept = 500;
  RequireOk(stack.StartSim({"--count", std::to_string(kBuffered), "--rate", "1000", "--devices",
                            "20", "--seed", std::to_string(seed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(90));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  const bool buffered =
      WaitUntil([&] { return stack.Metric("tidegate_buffer_events").value_or(0) >= kBuffered; },
                seconds(60), milliseconds(100));
  INFO(stack.Diagnostics());
  REQUIRE(buffered);
  stack.mutable_options().buffer_yaml =
      "  commit_interval: 50ms\n  max_events: " + std::to_string(kKept) + "\n  max_bytes: 64MiB\n";
  RequireOk(stack.RewriteAgentConfig());
  REQUIRE(::kill(stack.AgentPid(), SIGHUP) == 0);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_config_applied_total") == 1.0; },
                    seconds(30), milliseconds(100)));
  // Enforced by the apply itself: no event arrived since.
  CHECK(stack.Metric("tidegate_buffer_events") == static_cast<double>(kKept));
  CHECK(stack.Metric("tidegate_dropped_total{reason=\"max_events\"}") ==
        static_cast<double>(kBuffered - kKept));
  CHECK(stack.Metric("tidegate_buffer_max_bytes") == static_cast<double>(64ull << 20));
  RequireOk(stack.StartCollector(), &stack);
  if (!stack.WaitForLanded(kKept, seconds(60))) FAIL("not landed\n" << stack.Diagnostics());
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == static_cast<size_t>(kBuffered));
  std::map<std::string, size_t> position;  // msg_id -> index in publish order
  for (size_t i = 0; i < published->size(); ++i) position[(*published)[i].msg_id] = i;
  std::vector<size_t> kept;
  for (const LandedEvent& e : *landed) {
    auto it = position.find(e.msg_id);
    REQUIRE(it != position.end());
    kept.push_back(it->second);
  }
  std::sort(kept.begin(), kept.end());
  CHECK(std::adjacent_find(kept.begin(), kept.end()) == kept.end());  // each at most once
  CHECK(kept.size() == static_cast<size_t>(kKept));
  // Kept: the newest, and before them only the batches the uplink had taken in flight (never
  // dropped; the oldest records), so at most two runs: a prefix from 0 and a suffix to the end.
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t p : kept) {
    if (runs.empty() || p != runs.back().second + 1) runs.emplace_back(p, p);
    runs.back().second = p;
  }
  INFO("kept runs: " << runs.size() << ", first [" << runs.front().first << ", "
                     << runs.front().second << "]");
  REQUIRE(!runs.empty());
  CHECK(runs.size() <= 2);
  CHECK(runs.back().second == published->size() - 1);
  if (runs.size() == 2) CHECK(runs.front().first == 0);
  CHECK(stack.AgentRunning());
}

TEST_CASE("SIGHUP resubscribes changed topics on the same MQTT session", "[integration]") {
  E2eStack stack("config-reload-topics");
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", std::to_string(kEvents), "--rate", "300", "--devices", "20",
                            "--topic", "devices/{device}/telemetry", "--topic",
                            "devices/{device}/alarms", "--seed", std::to_string(seed)}),
            &stack);
  if (!stack.WaitForLanded(200, seconds(60))) FAIL("no events\n" << stack.Diagnostics());
  stack.mutable_options().topics_yaml = "      - {filter: devices/+/alarms, qos: 1, priority: 7}\n";
  RequireOk(stack.RewriteAgentConfig());
  REQUIRE(::kill(stack.AgentPid(), SIGHUP) == 0);
  Result<int> sim_exit = stack.WaitSim(seconds(90));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  // The last 300 published: every alarm lands, no telemetry does.
  std::set<std::string> late_alarms, late_telemetry;
  for (size_t i = published->size() - 300; i < published->size(); ++i) {
    const PublishedEvent& p = (*published)[i];
    (p.topic.find("/alarms") != std::string::npos ? late_alarms : late_telemetry).insert(p.msg_id);
  }
  REQUIRE(!late_alarms.empty());
  REQUIRE(!late_telemetry.empty());
  std::vector<LandedEvent> landed;
  const bool all_alarms = WaitUntil(
      [&] {
        auto dump = stack.DumpEvents();
        if (!dump.ok()) return false;
        landed = std::move(dump).value();
        size_t found = 0;
        for (const LandedEvent& e : landed) found += late_alarms.count(e.msg_id);
        return found == late_alarms.size();
      },
      seconds(60), milliseconds(500));
  INFO(stack.Diagnostics());
  CHECK(all_alarms);
  size_t telemetry_after = 0, early_alarms = 0;
  std::set<std::string> ids;
  for (const LandedEvent& e : landed) {
    telemetry_after += late_telemetry.count(e.msg_id);
    early_alarms += e.topic.find("/alarms") != std::string::npos && !late_alarms.count(e.msg_id);
    CHECK(ids.insert(e.msg_id).second);  // each at most once
  }
  CHECK(telemetry_after == 0);
  CHECK(early_alarms > 0);  // alarms published between the reload and the last 300
  CHECK(stack.Metric("tidegate_mqtt_connects_total") == 1.0);
  CHECK(stack.Metric("tidegate_config_applied_total") == 1.0);
}

}  // namespace tidegate::testing
