// SPDX-License-Identifier: Apache-2.0
// Event-time aggregation end to end: tidegate-sim publishes out-of-order readings with
// duplicates, late events and a device that goes offline and syncs later, through a real
// broker into the agent, which uploads window results over TLS to the real collector. The
// landed `dump aggregates` must equal a brute-force batch computation (aggregate_reference.h)
// over the same readings, for several recorded seeds, with and without kill -9 restarts.
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "tests/integration/aggregate_reference.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kWindowMs = 10'000;

constexpr const char* kAggregateYaml = R"(aggregate:
  - name: telemetry_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures:
      /temp: [count, sum, min, max, avg, last, p50, p95, p99]
      /humidity: [count, sum, min, max, avg]
      /battery: [count, sum, min, max, last]
    watermark: {max_out_of_order: 2s, idle_timeout: 3s}
    allowed_lateness: 2m
    late_events: update
)";

std::vector<std::string> SimArgs(uint64_t seed) {
  return {"--rate",        "2000", "--count",          "16000",  "--devices",         "25",
          "--jitter",      "1s",   "--dup-rate",       "0.01",   "--late-fraction",   "0.005",
          "--late-by",     "20s",  "--offline-device", "4",      "--offline-at",      "2s",
          "--offline-for", "4s",   "--no-pii",         "--seed", std::to_string(seed)};
}

Result<std::vector<LandedAggregate>> DumpAggregates(const E2eStack& stack) {
  TG_ASSIGN_OR_RETURN(CommandResult dump,
                      RunCommand({BinaryPath("tidegate-collector"), "dump", "--data-dir",
                                  stack.CollectorDataDir(), "aggregates"}));
  if (dump.exit_code != 0) return Internal("dump aggregates failed: " + dump.stderr_text);
  return ParseLandedAggregates(dump.stdout_text);
}

ReferenceOptions Options() {
  return ReferenceOptions{
      .name = "telemetry_10s",
      .window_ms = kWindowMs,
      .fields = {{"temp", {"count", "sum", "min", "max", "avg", "last", "p50", "p95", "p99"}},
                 {"humidity", {"count", "sum", "min", "max", "avg"}},
                 {"battery", {"count", "sum", "min", "max", "last"}}},
      .quantile_error = 0.01};
}

// Polls until the landed aggregates equal the reference (windows close on idle timeouts
// after the last reading, then upload); returns the last comparison.
ComparisonReport WaitForAggregates(E2eStack& stack, const std::vector<Reading>& readings) {
  ComparisonReport report;
  WaitUntil(
      [&] {
        auto landed = DumpAggregates(stack);
        if (!landed.ok()) return false;
        report = CompareWithReference(readings, *landed, Options());
        return report.mismatches.empty();
      },
      seconds(60), milliseconds(500));
  return report;
}

std::vector<Reading> ReadingsOf(const std::vector<PublishedEvent>& published) {
  std::vector<Reading> readings;
  for (const PublishedEvent& p : published) {
    if (!p.duplicate) readings.push_back({p.device_id, p.ts_ms, p.payload});
  }
  return readings;
}

// The same run with the agent killed (-9) and restarted `kills` times while the sim publishes.
void RunAggregation(uint64_t seed, int kills) {
  E2eStack stack("aggregate-" + std::to_string(seed) + "-" + std::to_string(kills));
  stack.mutable_options().extra_agent_yaml = kAggregateYaml;
  // commit_interval 0: each PUBACK leaves after its event was committed, so a kill loses
  // nothing (docs/guarantees.md, "What a crash can lose").
  if (kills > 0) stack.mutable_options().buffer_yaml = "  commit_interval: 0\n";
  RequireOk(stack.Start(), &stack);
  RequireOk(stack.StartSim(SimArgs(seed)), &stack);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(milliseconds(2'500));
    stack.KillAgent();
    std::this_thread::sleep_for(milliseconds(300));
    RequireOk(stack.StartAgent(), &stack);
  }
  auto sim = stack.WaitSim(seconds(90));
  REQUIRE(sim.ok());
  REQUIRE(*sim == 0);
  auto published = ReadPublishLog(stack.PublishLogPath());
  REQUIRE(published.ok());

  // The broker may still be delivering when the buffer is momentarily empty: wait for the
  // count first, then for the rest to drain.
  stack.WaitForLanded(ReadingsOf(*published).size(), seconds(90));
  REQUIRE(stack.WaitForDrained(seconds(60)));
  auto landed_events = stack.DumpEvents();
  REQUIRE(landed_events.ok());
  DeliveryReport delivery = CompareByMsgId(*published, *landed_events);
  std::cerr << "seed " << seed << " kills " << kills << ": raw events " << delivery.ToString()
            << "\n";
  CHECK(delivery.duplicated == 0);
  CHECK(delivery.unknown == 0);
  REQUIRE(delivery.ExactlyOnce());

  ComparisonReport report = WaitForAggregates(stack, ReadingsOf(*published));
  std::cerr << "seed " << seed << " kills " << kills << ": " << report.Summary() << "\n";
  auto metrics = stack.Metrics();
  if (metrics.ok()) {
    for (const char* series :
         {R"(tidegate_window_results_total{aggregation="telemetry_10s"})",
          R"(tidegate_late_events_total{aggregation="telemetry_10s",outcome="updated"})",
          R"(tidegate_late_events_total{aggregation="telemetry_10s",outcome="too_late"})",
          R"(tidegate_aggregate_open_groups{aggregation="telemetry_10s"})"}) {
      std::cerr << "  " << series << " " << MetricValue(*metrics, series).value_or(-1) << "\n";
    }
  }
  INFO(stack.Diagnostics());
  CHECK(report.mismatches.empty());
  // 25 devices x 8 s of readings: one or two 10 s windows each, by where the clock is.
  CHECK(report.reference_windows >= 25);
  CHECK(report.revised_windows > 0);  // the offline device's sync and late events revised some
}

}  // namespace

TEST_CASE("landed window results equal a batch computation, for recorded seeds",
          "[integration][aggregate]") {
  for (uint64_t seed : {20261124ull, 4242ull}) {
    DYNAMIC_SECTION("seed " << seed) { RunAggregation(seed, /*kills=*/0); }
  }
}

TEST_CASE("two kill -9 restarts mid-stream give the same landed window results",
          "[integration][aggregate]") {
  RunAggregation(/*seed=*/7, /*kills=*/2);
}

TEST_CASE("forward_raw false keeps raw events home, side_output forwards the too-late ones",
          "[integration][aggregate]") {
  E2eStack stack("aggregate-side-output");
  stack.mutable_options().extra_agent_yaml = R"(aggregate:
  - name: temp_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures: {/temp: [count]}
    watermark: {max_out_of_order: 1s, idle_timeout: 2s}
    allowed_lateness: 0s
    late_events: side_output
    forward_raw: false
)";
  RequireOk(stack.Start(), &stack);
  RequireOk(
      stack.StartSim({"--rate", "1000", "--count", "4000", "--devices", "5", "--late-fraction",
                      "0.02", "--late-by", "30s", "--no-pii", "--seed", "20261124"}),
      &stack);
  auto sim = stack.WaitSim(seconds(60));
  REQUIRE(sim.ok());
  REQUIRE(*sim == 0);
  auto published = ReadPublishLog(stack.PublishLogPath());
  REQUIRE(published.ok());
  const size_t n = ReadingsOf(*published).size();

  // Every event is either counted by a landed window or landed raw, flagged late.
  double windowed = 0;
  size_t raw = 0;
  std::vector<LandedEvent> landed;
  WaitUntil(
      [&] {
        auto aggregates = DumpAggregates(stack);
        auto events = stack.DumpEvents();
        if (!aggregates.ok() || !events.ok()) return false;
        windowed = 0;
        for (const LandedAggregate& a : *aggregates) windowed += a.measures.at("/temp").at("count");
        landed = *events;
        raw = landed.size();
        return windowed + static_cast<double>(raw) >= static_cast<double>(n);
      },
      seconds(60), milliseconds(500));
  const double too_late =
      stack.Metric(R"(tidegate_late_events_total{aggregation="temp_10s",outcome="too_late"})")
          .value_or(-1);
  std::cerr << "side_output: published " << n << ", counted in windows " << windowed
            << ", landed raw " << raw << ", too_late " << too_late << "\n";
  CHECK(raw > 0);
  CHECK(windowed + static_cast<double>(raw) == static_cast<double>(n));
  CHECK(static_cast<double>(raw) == too_late);
  for (const LandedEvent& e : landed) CHECK(e.late);
}

}  // namespace tidegate::testing
