// SPDX-License-Identifier: Apache-2.0
// The aggregator across wall-clock steps (issue 10), driven through an AgeClock over a
// FakeClock as the buffer's writer drives it: a step of a year either way evicts no window
// state, makes no device idle and turns no current event into a future or too old one,
// while the same amount of real (monotonic) time still does what state_ttl and
// idle_timeout say.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "common/age_clock.h"
#include "common/window_result.h"
#include "filters/aggregator.h"
#include "tests/support/fake_clock.h"

namespace {

using tidegate::AgeClock;
using tidegate::AggregateSpec;
using tidegate::Config;
using tidegate::Event;
using tidegate::Millis;
using tidegate::RecordKind;
using tidegate::WindowResult;
using tidegate::filters::Aggregator;
using tidegate::filters::StateChange;
using tidegate::testing::FakeClock;
using tidegate::testing::kYearMs;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kT0 = 1'764'000'000'000;  // a minute boundary

Config MakeConfig(int64_t state_ttl_ms, int64_t idle_ms) {
  Config config;
  AggregateSpec spec;
  spec.name = "temp_1m";
  spec.match = "devices/+/telemetry";
  spec.group_by = {"device_id"};
  spec.window_size = Millis(kMinute);
  spec.window_slide = Millis(kMinute);
  spec.measures = {{"/temp", {"count", "sum"}}};
  spec.max_out_of_order = Millis(5'000);
  spec.idle_timeout = Millis(idle_ms);
  config.aggregates.push_back(spec);
  config.events.max_future_skew = Millis(5 * kMinute);
  config.buffer.state_ttl = Millis(state_ttl_ms);
  return config;
}

Event Reading(const std::string& device, int64_t t, double temp) {
  Event e;
  e.topic = "devices/" + device + "/telemetry";
  e.device_id = device;
  e.event_time_ms = t;
  e.payload = R"({"temp":)" + std::to_string(temp) + "}";
  return e;
}

double Stat(const WindowResult& r) {
  for (const auto& [name, value] : r.measures.at(0).stats) {
    if (name == "count") return value;
  }
  FAIL("no count");
  return 0;
}

// The writer thread's view: one AgeClock reading per commit group.
struct SteppedHarness {
  explicit SteppedHarness(Config c)
      : config(std::move(c)), clock(kT0 + 10'000), ages(clock, kT0), agg(config) {}

  std::vector<WindowResult> Commit(std::vector<Event> records) {
    std::vector<StateChange> changes;
    agg.Process(records, ages.Now(), &changes, &counters);
    std::vector<WindowResult> results;
    for (const Event& e : records) {
      if (e.kind != RecordKind::kWindowResult) continue;
      auto r = tidegate::DecodeWindowResult(e.payload);
      REQUIRE(r.ok());
      results.push_back(*r);
      result_records.push_back(e);
    }
    return results;
  }
  // Idle ticks once a second for `seconds` of real time; returns what they emitted.
  std::vector<WindowResult> Tick(int seconds) {
    std::vector<WindowResult> all;
    for (int i = 0; i < seconds; ++i) {
      clock.Advance(1'000);
      for (WindowResult& r : Commit({})) all.push_back(std::move(r));
    }
    return all;
  }
  int64_t Counter(const std::string& what) { return counters["aggregate.temp_1m." + what]; }

  Config config;
  FakeClock clock;
  AgeClock ages;
  Aggregator agg;
  std::map<std::string, int64_t> counters;
  std::vector<Event> result_records;  // every window result record emitted so far
};

}  // namespace

TEST_CASE("a wall-clock step evicts no window state but real state_ttl does",
          "[aggregate][clock][issue-10]") {
  const int64_t ttl = 10 * kMinute;
  SteppedHarness h(MakeConfig(ttl, /*idle_ms=*/60 * kMinute));
  CHECK(h.Commit({Reading("d1", kT0 + 1'000, 20)}).empty());
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs);
  h.clock.StepWall(step);
  CHECK(h.Tick(5).empty());
  CHECK(h.ages.steps() == 1);
  CHECK(h.Counter("evicted") == 0);
  CHECK(h.agg.stats(0).open_windows.load() == 1);
  // Real time: just short of the ttl keeps it; the ttl evicts it, emitted non-final.
  CHECK(h.Tick(static_cast<int>(ttl / 1'000) - 10).empty());
  auto results = h.Tick(10);
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].final);
  CHECK(Stat(results[0]) == 1);
  CHECK(h.Counter("evicted") == 1);
}

TEST_CASE("a wall-clock step makes no device idle but real idle_timeout does",
          "[aggregate][clock][issue-10]") {
  SteppedHarness h(MakeConfig(int64_t{24} * 60 * kMinute, /*idle_ms=*/30'000));
  CHECK(h.Commit({Reading("d1", kT0 + 1'000, 20)}).empty());
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs);
  h.clock.StepWall(step);
  CHECK(h.Tick(20).empty());  // silent for 20 s of real time: not idle yet
  auto results = h.Tick(15);
  REQUIRE(results.size() == 1);
  CHECK(results[0].final);
  // The result carries the wall clock (after the step) as ingest time, the age line (which
  // started at kT0 and saw 30-35 s of real time) as age stamp.
  REQUIRE(h.result_records.size() == 1);
  const int64_t wall_after_step = kT0 + 10'000 + step;
  CHECK(h.result_records[0].ingest_time_ms >= wall_after_step + 30'000);
  CHECK(h.result_records[0].ingest_time_ms <= wall_after_step + 35'000);
  CHECK(h.result_records[0].age_ms >= kT0 + 30'000);
  CHECK(h.result_records[0].age_ms <= kT0 + 35'000);
}

TEST_CASE("after a wall-clock step current events are neither future nor too old",
          "[aggregate][clock][issue-10]") {
  SteppedHarness h(MakeConfig(int64_t{24} * 60 * kMinute, /*idle_ms=*/60 * kMinute));
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs);
  const int64_t before = h.clock.wall_ms();
  h.clock.StepWall(step);
  h.Tick(1);
  // Devices that kept the old time base, and devices on the new one, both count.
  h.Commit({Reading("old", before + 2'000, 1), Reading("new", h.clock.wall_ms(), 2)});
  CHECK(h.Counter("future") == 0);
  CHECK(h.Counter("too_old") == 0);
  CHECK(h.agg.stats(0).open_windows.load() == 2);
  // Far outside both sides is still judged.
  h.Commit({Reading("far", std::max(before, before + step) + 10 * kMinute, 3),
            Reading("far", std::min(before, before + step) - int64_t{25} * 60 * kMinute, 4)});
  CHECK(h.Counter("future") == 1);
  CHECK(h.Counter("too_old") == 1);
}
