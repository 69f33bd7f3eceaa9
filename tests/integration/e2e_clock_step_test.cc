// SPDX-License-Identifier: Apache-2.0
// Wall-clock steps end to end (issue 10): the agent runs under libfaketime with only its wall
// clock faked (monotonic real), and the test steps that clock by a year while the agent runs,
// as NTP does to a gateway that booted without a battery-backed clock. Forward with the
// receiver down and 10,000 events buffered under max_age 7d: none is lost (the bug deleted
// every unsent one as max_age). Back and forward while the simulator publishes into
// event-time windows: the uplink and the windows keep going and the landed window results
// equal the reference computation. That a real week of monotonic time does expire buffered
// events is the FakeClock unit test in buffer/store_clock_step_test.cc.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "common/clock.h"
#include "tests/integration/aggregate_reference.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/faketime.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kBufferedEvents = 10'000;
constexpr int64_t kYearMs = 365LL * 86'400'000;

// Runs the agent under libfaketime following <dir>/faketime.rc (offset "+0" to begin with),
// with certificates valid from 400 days ago so TLS still verifies a year back.
std::string UseFaketime(E2eStack& stack) {
  std::string offset_file = stack.dir().File("faketime.rc");
  RequireOk(SetFaketimeOffset(offset_file, "+0"));
  auto env = FaketimeEnv(offset_file);
  RequireOk(env.status());
  stack.mutable_options().agent_env = *env;
  stack.mutable_options().cert_backdate_days = 400;
  return offset_file;
}

double M(E2eStack& stack, std::string_view series) { return stack.Metric(series).value_or(-1); }

// Steps the agent's wall clock and waits until the agent has seen the step.
void StepAgentClock(E2eStack& stack, const std::string& offset_file, const std::string& offset) {
  const double steps_before = M(stack, "tidegate_clock_steps_total");
  RequireOk(SetFaketimeOffset(offset_file, offset));
  INFO(stack.Diagnostics());
  REQUIRE(WaitUntil([&] { return M(stack, "tidegate_clock_steps_total") > steps_before; },
                    seconds(30), milliseconds(100)));
}

std::vector<PublishedEvent> WaitForPublished(E2eStack& stack) {
  auto sim = stack.WaitSim(seconds(120));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);
  auto published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status(), &stack);
  return *published;
}

Result<std::vector<LandedAggregate>> DumpAggregates(const E2eStack& stack) {
  TG_ASSIGN_OR_RETURN(CommandResult dump,
                      RunCommand({BinaryPath("tidegate-collector"), "dump", "--data-dir",
                                  stack.CollectorDataDir(), "aggregates"}));
  if (dump.exit_code != 0) return Internal("dump aggregates failed: " + dump.stderr_text);
  return ParseLandedAggregates(dump.stdout_text);
}

constexpr const char* kAggregateYaml = R"(aggregate:
  - name: telemetry_5s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 5s}
    measures:
      /temp: [count, sum, min, max, avg, last, p50, p95]
    watermark: {max_out_of_order: 1s, idle_timeout: 3s}
    allowed_lateness: 1m
    late_events: update
)";

ReferenceOptions AggregateOptions() {
  return ReferenceOptions{
      .name = "telemetry_5s",
      .window_ms = 5'000,
      .fields = {{"temp", {"count", "sum", "min", "max", "avg", "last", "p50", "p95"}}},
      .quantile_error = 0.01};
}

// Publishes into 5 s windows, steps the agent's clock by `offset` once a third of the events
// landed, and checks that delivery and windows went on and match the reference.
void RunWindowsAcrossStep(const std::string& offset) {
  const uint64_t seed = TestSeed();
  E2eStack stack("clock-step-windows" + offset);
  const std::string offset_file = UseFaketime(stack);
  stack.mutable_options().extra_agent_yaml = kAggregateYaml;
  RequireOk(stack.Start(), &stack);
  RequireOk(stack.StartSim({"--rate", "800", "--count", "8000", "--devices", "10", "--jitter",
                            "500ms", "--no-pii", "--seed", std::to_string(seed)}),
            &stack);
  REQUIRE(stack.WaitForLanded(2'500, seconds(60)));
  StepAgentClock(stack, offset_file, offset);
  const double results_at_step =
      M(stack, "tidegate_window_results_total{aggregation=\"telemetry_5s\"}");
  const std::vector<PublishedEvent> published = WaitForPublished(stack);

  // Events keep landing: every one, exactly once.
  REQUIRE(stack.WaitForLanded(published.size(), seconds(90)));
  REQUIRE(stack.WaitForDrained(seconds(60)));
  auto landed = stack.DumpEvents();
  RequireOk(landed.status(), &stack);
  DeliveryReport delivery = CompareByMsgId(published, *landed);
  INFO(stack.Diagnostics());
  CHECK(delivery.ExactlyOnce());

  // Windows keep closing, and what landed equals the batch computation over what was sent.
  std::vector<Reading> readings;
  readings.reserve(published.size());
  for (const PublishedEvent& p : published) readings.push_back({p.device_id, p.ts_ms, p.payload});
  ComparisonReport report;
  WaitUntil(
      [&] {
        auto aggregates = DumpAggregates(stack);
        if (!aggregates.ok()) return false;
        report = CompareWithReference(readings, *aggregates, AggregateOptions());
        return report.mismatches.empty();
      },
      seconds(60), milliseconds(500));
  const double results = M(stack, "tidegate_window_results_total{aggregation=\"telemetry_5s\"}");
  std::fprintf(stderr,
               "clock step %s (seed %llu): %s; raw events %s; window results %.0f at the step, "
               "%.0f at the end\n",
               offset.c_str(), static_cast<unsigned long long>(seed), report.Summary().c_str(),
               delivery.ToString().c_str(), results_at_step, results);
  CHECK(report.mismatches.empty());
  CHECK(report.reference_windows >= 10);
  CHECK(results > results_at_step);
  CHECK(M(stack, "tidegate_clock_steps_total") >= 1);
  for (const char* outcome : {"future", "too_old", "too_late"}) {
    INFO(outcome);
    CHECK(
        M(stack, std::string("tidegate_late_events_total{aggregation=\"telemetry_5s\",outcome=\"") +
                     outcome + "\"}") == 0);
  }
  CHECK(M(stack, "tidegate_aggregate_evicted_total{aggregation=\"telemetry_5s\"}") == 0);
}

}  // namespace

TEST_CASE("a wall-clock step of a year forward loses no buffered event",
          "[integration][clock][issue-10]") {
  const uint64_t seed = TestSeed();
  E2eStack stack("clock-step-forward");
  const std::string offset_file = UseFaketime(stack);
  stack.mutable_options().buffer_yaml = "  max_age: 7d\n  commit_interval: 50ms\n";
  RequireOk(stack.Start(), &stack);
  RequireOk(stack.StopCollector(), &stack);  // the receiver is down
  RequireOk(stack.StartSim({"--rate", "0", "--count", std::to_string(kBufferedEvents), "--devices",
                            "20", "--no-pii", "--seed", std::to_string(seed)}),
            &stack);
  const std::vector<PublishedEvent> published = WaitForPublished(stack);
  REQUIRE(published.size() == kBufferedEvents);
  REQUIRE(WaitUntil([&] { return M(stack, "tidegate_buffer_events") >= kBufferedEvents; },
                    seconds(60)));

  StepAgentClock(stack, offset_file, "+365d");
  // max_age runs every second: give it a few chances (the uplink retrying its batch is the
  // agent's own pace) before the receiver returns.
  const double retried = M(stack, "tidegate_batches_retried_total");
  REQUIRE(WaitUntil([&] { return M(stack, "tidegate_batches_retried_total") >= retried + 3; },
                    seconds(30)));
  CHECK(M(stack, "tidegate_dropped_total{reason=\"max_age\"}") == 0);
  CHECK(M(stack, "tidegate_buffer_events") == kBufferedEvents);
  // The oldest event's age is real elapsed time, not a year.
  CHECK(M(stack, "tidegate_buffer_oldest_age_seconds") < 3'600);

  RequireOk(stack.StartCollector(), &stack);
  REQUIRE(stack.WaitForLanded(kBufferedEvents, seconds(120)));
  REQUIRE(stack.WaitForDrained(seconds(60)));
  auto landed = stack.DumpEvents();
  RequireOk(landed.status(), &stack);
  DeliveryReport delivery = CompareByMsgId(published, *landed);
  INFO(stack.Diagnostics());
  CHECK(delivery.ExactlyOnce());
  CHECK(M(stack, "tidegate_dropped_total{reason=\"max_age\"}") == 0);
  CHECK(M(stack, "tidegate_clock_steps_total") >= 1);
  // ingest_time is the wall-clock reading at ingest: from before the step for all of these.
  int64_t max_ingest = 0;
  for (const LandedEvent& e : *landed) max_ingest = std::max(max_ingest, e.ingest_time_ms);
  CHECK(max_ingest < RealClock().NowUnixMs() + kYearMs / 2);
  std::fprintf(stderr,
               "clock step +365d (seed %llu): %zu buffered, %s, dropped max_age %.0f, steps %.0f\n",
               static_cast<unsigned long long>(seed), kBufferedEvents, delivery.ToString().c_str(),
               M(stack, "tidegate_dropped_total{reason=\"max_age\"}"),
               M(stack, "tidegate_clock_steps_total"));
}

TEST_CASE("windows and the uplink go on across a wall-clock step of a year back",
          "[integration][clock][aggregate][issue-10]") {
  RunWindowsAcrossStep("-365d");
}

TEST_CASE("windows and the uplink go on across a wall-clock step of a year forward",
          "[integration][clock][aggregate][issue-10]") {
  RunWindowsAcrossStep("+365d");
}

}  // namespace tidegate::testing
