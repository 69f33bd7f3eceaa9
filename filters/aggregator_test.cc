// SPDX-License-Identifier: Apache-2.0
#include "filters/aggregator.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/time_format.h"
#include "common/window_result.h"
#include "filters/exact_sum.h"
#include "filters/window_assigner.h"

namespace {

using tidegate::AggregateSpec;
using tidegate::Config;
using tidegate::Event;
using tidegate::LatePolicy;
using tidegate::Millis;
using tidegate::RecordKind;
using tidegate::WindowKind;
using tidegate::WindowResult;
using tidegate::filters::Aggregator;
using tidegate::filters::StateChange;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kT0 = 1'764'000'000'000;  // a minute boundary (2025-11-24T16:00:00Z)

Config MakeConfig(LatePolicy late = LatePolicy::kUpdate, Millis lateness = Millis(0)) {
  Config config;
  AggregateSpec spec;
  spec.name = "temp_1m";
  spec.match = "devices/+/telemetry";
  spec.group_by = {"device_id"};
  spec.window_size = Millis(kMinute);
  spec.window_slide = Millis(kMinute);
  spec.measures = {{"/temp", {"count", "sum", "min", "max", "avg", "last", "p50"}}};
  spec.max_out_of_order = Millis(5'000);
  spec.idle_timeout = Millis(30'000);
  spec.allowed_lateness = lateness;
  spec.late_events = late;
  config.aggregates.push_back(spec);
  config.events.max_future_skew = Millis(5 * kMinute);
  config.buffer.state_ttl = Millis(int64_t{24} * 60 * kMinute);
  return config;
}

Event Reading(const std::string& device, int64_t t, double temp) {
  Event e;
  e.topic = "devices/" + device + "/telemetry";
  e.device_id = device;
  e.event_time_ms = t;
  e.payload = R"({"device_id":")" + device + R"(","ts":)" + std::to_string(t) + R"(,"temp":)" +
              std::to_string(temp) + "}";
  return e;
}

// Drives an Aggregator like the writer thread does and keeps its checkpoint in a map.
struct Harness {
  explicit Harness(Config c) : config(std::move(c)), agg(std::make_unique<Aggregator>(config)) {}

  // Processes one commit group; returns the window results it emitted.
  std::vector<WindowResult> Commit(std::vector<Event> records, int64_t now) {
    std::vector<StateChange> changes;
    agg->Process(records, now, &changes, &counters);
    for (const StateChange& c : changes) {
      if (c.erase) {
        state.erase(c.key);
      } else {
        state[c.key] = c.value;
      }
    }
    std::vector<WindowResult> results;
    stored.clear();
    for (const Event& e : records) {
      if (e.kind != RecordKind::kWindowResult) {
        stored.push_back(e);
        continue;
      }
      auto r = tidegate::DecodeWindowResult(e.payload);
      REQUIRE(r.ok());
      results.push_back(*r);
    }
    return results;
  }
  // A restart: a new aggregator from the checkpoint.
  void Restart(int64_t now) {
    agg = std::make_unique<Aggregator>(config);
    std::vector<std::pair<std::string, std::string>> rows(state.begin(), state.end());
    std::vector<StateChange> cleanup;
    REQUIRE(agg->Load(rows, now, &cleanup) == 0);
    CHECK(cleanup.empty());
  }

  Config config;
  std::unique_ptr<Aggregator> agg;
  std::map<std::string, std::string> state;
  std::map<std::string, int64_t> counters;
  std::vector<Event> stored;  // raw records of the last commit
};

double Stat(const WindowResult& r, const std::string& name) {
  for (const auto& [n, v] : r.measures.at(0).stats) {
    if (n == name) return v;
  }
  FAIL("no stat " << name);
  return 0;
}

}  // namespace

TEST_CASE("window assignment: tumbling boundaries and negative times", "[aggregate]") {
  tidegate::filters::WindowAssigner tumbling(kMinute, kMinute);
  std::vector<int64_t> starts;
  tumbling.Assign(0, &starts);
  CHECK(starts == std::vector<int64_t>{0});
  tumbling.Assign(kMinute - 1, &starts);
  CHECK(starts == std::vector<int64_t>{0});
  tumbling.Assign(kMinute, &starts);
  CHECK(starts == std::vector<int64_t>{kMinute});
  tumbling.Assign(-1, &starts);
  CHECK(starts == std::vector<int64_t>{-kMinute});
  tumbling.Assign(-kMinute, &starts);
  CHECK(starts == std::vector<int64_t>{-kMinute});
}

TEST_CASE("window assignment: hopping windows overlap by size/slide", "[aggregate]") {
  tidegate::filters::WindowAssigner hopping(60, 20);
  std::vector<int64_t> starts;
  hopping.Assign(65, &starts);
  CHECK(starts == std::vector<int64_t>{60, 40, 20});
  hopping.Assign(60, &starts);
  CHECK(starts == std::vector<int64_t>{60, 40, 20});
  hopping.Assign(59, &starts);
  CHECK(starts == std::vector<int64_t>{40, 20, 0});
  hopping.Assign(-5, &starts);
  CHECK(starts == std::vector<int64_t>{-20, -40, -60});
}

TEST_CASE("window assignment: the ends of the int64 range do not overflow", "[aggregate]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  tidegate::filters::WindowAssigner hopping(kMinute, kMinute / 4);
  std::vector<int64_t> starts;
  for (int64_t t : {kMax, kMax - 1, kMax - kMinute, kMin, kMin + 1, kMin + kMinute}) {
    hopping.Assign(t, &starts);
    CHECK(starts.size() <= 4);
    for (int64_t s : starts) {
      CHECK(s <= t);
      CHECK(s <= kMax - kMinute);  // the end fits
      CHECK(t - s < kMinute);
    }
  }
  hopping.Assign(kMax - 2 * kMinute, &starts);
  CHECK(starts.size() == 4);
}

// The expected starts come from the same rule in Python's unbounded integers. 32-bit ARM has no
// __int128, so the assigner checks int64 overflow instead; these are its edge cases.
TEST_CASE("window assignment at the ends of the int64 range gives the exact starts",
          "[aggregate][issue-13]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  tidegate::filters::WindowAssigner hopping(7, 3);
  std::vector<int64_t> starts;
  hopping.Assign(kMax, &starts);
  CHECK(starts.empty());  // each window would end past kMax
  hopping.Assign(kMax - 1, &starts);
  CHECK(starts == std::vector<int64_t>{kMax - 7});
  hopping.Assign(kMax - 7, &starts);
  CHECK(starts == std::vector<int64_t>{kMax - 7, kMax - 10, kMax - 13});
  hopping.Assign(kMin, &starts);
  CHECK(starts.empty());  // floor(kMin / 3) * 3 is below kMin
  hopping.Assign(kMin + 1, &starts);
  CHECK(starts.empty());
  hopping.Assign(kMin + 2, &starts);
  CHECK(starts == std::vector<int64_t>{kMin + 2});
  hopping.Assign(kMin + 5, &starts);
  CHECK(starts == std::vector<int64_t>{kMin + 5, kMin + 2});
  tidegate::filters::WindowAssigner quarters(kMinute, kMinute / 4);
  quarters.Assign(kMax - kMinute, &starts);
  CHECK(starts == std::vector<int64_t>{kMax - 70807, kMax - 85807, kMax - 100807, kMax - 115807});
  quarters.Assign(kMin + kMinute, &starts);
  CHECK(starts == std::vector<int64_t>{kMin + 55808, kMin + 40808, kMin + 25808, kMin + 10808});
}

TEST_CASE("exact sums do not depend on the order of the values", "[aggregate]") {
  std::vector<double> values = {0.1, 1e100, 23.47, -1e100, 0.2, 1e-20, 18.05, 0.3};
  tidegate::filters::ExactSum forward, backward;
  for (double v : values) forward.Add(v);
  const std::vector<double> reversed(values.rbegin(), values.rend());
  for (double v : reversed) backward.Add(v);
  CHECK(forward.Value() == backward.Value());
  CHECK(forward.Value() == 42.12);  // Python: math.fsum(values)
  tidegate::filters::ExactSum tenths;
  for (int i = 0; i < 10; ++i) tenths.Add(0.1);
  CHECK(tenths.Value() == 1.0);  // a naive loop gives 0.9999999999999999
  auto restored = tidegate::filters::ExactSum::FromPartials(forward.partials());
  CHECK(restored.Value() == forward.Value());
}

TEST_CASE("a window closes when its device's watermark passes its end", "[aggregate]") {
  Harness h(MakeConfig());
  int64_t now = kT0 + 2 * kMinute;
  auto results = h.Commit({Reading("d1", kT0 + 1'000, 20.5), Reading("d1", kT0 + 30'000, 22.5),
                           Reading("d1", kT0 + 10'000, 21.0)},
                          now);
  CHECK(results.empty());
  // 64 s - 5 s out of order = 59 s: not yet past the end at 60 s.
  results = h.Commit({Reading("d1", kT0 + 64'000, 30.0)}, now);
  CHECK(results.empty());
  results = h.Commit({Reading("d1", kT0 + 65'000, 31.0)}, now);
  REQUIRE(results.size() == 1);
  const WindowResult& r = results[0];
  CHECK(r.name == "temp_1m");
  CHECK(r.group_key == "d1");
  CHECK(r.window_start == kT0);
  CHECK(r.window_end == kT0 + kMinute);
  CHECK(r.revision == 0);
  CHECK(r.final);
  CHECK(Stat(r, "count") == 3);
  CHECK(Stat(r, "sum") == 64.0);
  CHECK(Stat(r, "min") == 20.5);
  CHECK(Stat(r, "max") == 22.5);
  CHECK(Stat(r, "avg") == Approx(64.0 / 3));
  CHECK(Stat(r, "last") == 22.5);  // by event time, not arrival
  CHECK(Stat(r, "p50") == Approx(21.0).epsilon(0.01));
}

TEST_CASE("a silent device stops holding its windows back after idle_timeout", "[aggregate]") {
  Harness h(MakeConfig());
  int64_t now = kT0 + 10'000;
  CHECK(h.Commit({Reading("d1", kT0 + 1'000, 20.0)}, now).empty());
  CHECK(h.Commit({}, now + 29'000).empty());
  auto results = h.Commit({}, now + 30'000);
  REQUIRE(results.size() == 1);
  CHECK(results[0].final);
  CHECK(Stat(results[0], "count") == 1);
}

TEST_CASE("a device that syncs an hour of old readings gets its own windows", "[aggregate]") {
  Harness h(MakeConfig());
  int64_t now = kT0 + 120 * kMinute;
  // d1 is live; d2 was offline and now uploads readings from an hour ago, in order.
  std::vector<Event> batch;
  for (int m = 0; m < 60; ++m) {
    batch.push_back(Reading("d1", kT0 + (60 + m) * kMinute + 1'000, 20));
    batch.push_back(Reading("d2", kT0 + m * kMinute + 1'000, 10 + m));
    batch.push_back(Reading("d2", kT0 + m * kMinute + 2'000, 10 + m));
  }
  auto results = h.Commit(batch, now);
  int d2_windows = 0;
  for (const WindowResult& r : results) {
    if (r.group_key != "d2") continue;
    ++d2_windows;
    CHECK(Stat(r, "count") == 2);
    CHECK(r.revision == 0);
  }
  CHECK(d2_windows == 58);  // d2 watermark 58:57: minutes 58 and 59 wait for more readings
  CHECK(h.counters.count("aggregate.temp_1m.too_late") == 0);
}

TEST_CASE("late_events update emits a corrected revision", "[aggregate]") {
  Harness h(MakeConfig(LatePolicy::kUpdate, Millis(2 * kMinute)));
  int64_t now = kT0 + 5 * kMinute;
  auto first = h.Commit({Reading("d1", kT0 + 1'000, 20), Reading("d1", kT0 + 70'000, 21)}, now);
  REQUIRE(first.size() == 1);
  CHECK(Stat(first[0], "count") == 1);
  // Within allowed_lateness: revision 1 with the full corrected values.
  auto second = h.Commit({Reading("d1", kT0 + 2'000, 30), Reading("d1", kT0 + 3'000, 10)}, now);
  REQUIRE(second.size() == 1);
  CHECK(second[0].revision == 1);
  CHECK(second[0].window_start == kT0);
  CHECK(Stat(second[0], "count") == 3);
  CHECK(Stat(second[0], "sum") == 60);
  CHECK(Stat(second[0], "max") == 30);
  CHECK(h.counters["aggregate.temp_1m.late_updated"] == 2);
  // The watermark passes end + lateness: the window is gone, later data is too late.
  CHECK(h.Commit({Reading("d1", kT0 + 186'000, 22)}, now).size() == 1);  // window 1 closes
  auto third = h.Commit({Reading("d1", kT0 + 4'000, 40)}, now);
  CHECK(third.empty());
  CHECK(h.counters["aggregate.temp_1m.too_late"] == 1);
}

TEST_CASE("late_events drop counts and side_output forwards flagged", "[aggregate]") {
  SECTION("drop") {
    Harness h(MakeConfig(LatePolicy::kDrop, Millis(kMinute)));
    int64_t now = kT0 + 5 * kMinute;
    REQUIRE(
        h.Commit({Reading("d1", kT0 + 1'000, 20), Reading("d1", kT0 + 66'000, 21)}, now).size() ==
        1);
    CHECK(h.Commit({Reading("d1", kT0 + 2'000, 99)}, now).empty());
    CHECK(h.counters["aggregate.temp_1m.late_dropped"] == 1);
    REQUIRE(h.stored.size() == 1);
    CHECK((h.stored[0].flags & tidegate::kEventFlagLate) == 0);
  }
  SECTION("side_output") {
    Harness h(MakeConfig(LatePolicy::kSideOutput, Millis(kMinute)));
    h.config.aggregates[0].forward_raw = false;
    h.agg = std::make_unique<Aggregator>(h.config);
    int64_t now = kT0 + 5 * kMinute;
    REQUIRE(
        h.Commit({Reading("d1", kT0 + 1'000, 20), Reading("d1", kT0 + 66'000, 21)}, now).size() ==
        1);
    for (const Event& e : h.stored) CHECK_FALSE(e.store);  // forward_raw: false
    CHECK(h.Commit({Reading("d1", kT0 + 2'000, 99)}, now).empty());
    CHECK(h.counters["aggregate.temp_1m.late_side_output"] == 1);
    REQUIRE(h.stored.size() == 1);
    CHECK(h.stored[0].store);
    CHECK((h.stored[0].flags & tidegate::kEventFlagLate) != 0);
  }
}

TEST_CASE("event times too far in the future never move a watermark", "[aggregate]") {
  Harness h(MakeConfig());
  int64_t now = kT0 + 10'000;
  CHECK(h.Commit({Reading("d1", kT0 + 1'000, 20), Reading("d1", now + 6 * kMinute, 99)}, now)
            .empty());
  CHECK(h.counters["aggregate.temp_1m.future"] == 1);
  // Had it counted, d1's watermark would have closed the first window.
  CHECK(h.agg->stats(0).open_windows.load() == 1);
  CHECK(h.Commit({Reading("d1", now - int64_t{25} * 60 * kMinute, 1)}, now).empty());
  CHECK(h.counters["aggregate.temp_1m.too_old"] == 1);
}

TEST_CASE("a window fed by two devices waits for both watermarks", "[aggregate]") {
  Config config = MakeConfig();
  config.aggregates[0].group_by = {"/site"};
  Harness h(config);
  auto at_site = [](const std::string& device, int64_t t) {
    Event e = Reading(device, t, 1);
    e.payload = R"({"site":"north","temp":1})";
    return e;
  };
  int64_t now = kT0 + 5'000;
  CHECK(h.Commit({at_site("a", kT0 + 1'000), at_site("b", kT0 + 2'000)}, now).empty());
  CHECK(h.Commit({at_site("a", kT0 + 70'000)}, now).empty());  // b still holds it
  auto results = h.Commit({at_site("b", kT0 + 66'000)}, now);
  REQUIRE(results.size() == 1);
  CHECK(results[0].group_key == "north");
  CHECK(Stat(results[0], "count") == 2);
}

TEST_CASE("hopping windows count each event in size/slide windows", "[aggregate]") {
  Config config = MakeConfig();
  config.aggregates[0].window_kind = WindowKind::kHopping;
  config.aggregates[0].window_slide = Millis(kMinute / 2);
  Harness h(config);
  int64_t now = kT0 + 5 * kMinute;
  h.Commit({Reading("d1", kT0 + 40'000, 5)}, now);
  auto results = h.Commit({Reading("d1", kT0 + 200'000, 6)}, now);
  REQUIRE(results.size() == 2);
  CHECK(results[0].window_start == kT0);
  CHECK(results[1].window_start == kT0 + kMinute / 2);
  for (const auto& r : results) CHECK(Stat(r, "count") == 1);
}

TEST_CASE("state idle longer than state_ttl is evicted and emitted non-final", "[aggregate]") {
  Config config = MakeConfig();
  config.buffer.state_ttl = Millis(10 * kMinute);
  config.aggregates[0].idle_timeout = Millis(60 * kMinute);  // longer than the ttl
  Harness h(config);
  int64_t now = kT0 + 10'000;
  h.Commit({Reading("d1", kT0 + 1'000, 20)}, now);
  auto results = h.Commit({}, now + 10 * kMinute);
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].final);
  CHECK(h.counters["aggregate.temp_1m.evicted"] == 1);
  CHECK(h.agg->stats(0).devices.load() == 0);
  CHECK(h.state.size() == 1);  // only the configuration fingerprint is left
}

TEST_CASE("a restart from the checkpoint gives the same results as no restart", "[aggregate]") {
  tidegate::Rng rng(20261124);
  std::vector<Event> events;
  for (int i = 0; i < 3000; ++i) {
    std::string device = "d" + std::to_string(rng.Uniform(7));
    auto jitter = static_cast<int64_t>(rng.Uniform(8'000));
    events.push_back(Reading(device, kT0 + int64_t{i} * 100 - jitter,
                             static_cast<double>(rng.Uniform(2000)) / 100.0));
  }
  auto run = [&](bool restart) {
    Harness h(MakeConfig(LatePolicy::kUpdate, Millis(10'000)));
    std::map<std::pair<std::string, int64_t>, WindowResult> latest;
    int64_t now = kT0 + 400'000;
    for (size_t i = 0; i < events.size(); i += 50) {
      std::vector<Event> group(events.begin() + static_cast<long>(i),
                               events.begin() + static_cast<long>(std::min(i + 50, events.size())));
      for (const WindowResult& r : h.Commit(group, now)) {
        latest[{r.group_key, r.window_start}] = r;
      }
      if (restart && (i == 1000 || i == 2000)) h.Restart(now);
    }
    for (const WindowResult& r : h.Commit({}, now + kMinute)) {
      latest[{r.group_key, r.window_start}] = r;
    }
    return latest;
  };
  auto straight = run(false);
  auto restarted = run(true);
  REQUIRE(straight.size() == restarted.size());
  CHECK(straight.size() > 30);
  for (const auto& [key, r] : straight) {
    const WindowResult& other = restarted.at(key);
    CHECK(r.revision == other.revision);
    CHECK(r.measures[0].stats == other.measures[0].stats);
  }
}

TEST_CASE("checkpoint rows of a reconfigured aggregation are discarded", "[aggregate]") {
  Harness h(MakeConfig());
  h.Commit({Reading("d1", kT0 + 1'000, 20)}, kT0 + 10'000);
  Config changed = MakeConfig();
  changed.aggregates[0].window_size = Millis(2 * kMinute);
  changed.aggregates[0].window_slide = Millis(2 * kMinute);
  Aggregator agg(changed);
  std::vector<std::pair<std::string, std::string>> rows(h.state.begin(), h.state.end());
  rows.emplace_back("w|7:nothere|junk", "junk");
  std::vector<StateChange> cleanup;
  CHECK(agg.Load(rows, kT0, &cleanup) == rows.size());
  CHECK(cleanup.size() == rows.size());
  CHECK(agg.stats(0).open_windows.load() == 0);
}

TEST_CASE("the largest durations config check allows neither overflow nor stall windows",
          "[aggregate][issue-10]") {
  constexpr int64_t kDay = int64_t{24} * 60 * kMinute;
  Config config = MakeConfig(LatePolicy::kUpdate, Millis(7 * kDay));  // allowed_lateness max
  config.aggregates[0].window_size = Millis(7 * kDay);
  config.aggregates[0].window_slide = Millis(7 * kDay);
  config.aggregates[0].max_out_of_order = Millis(kDay);
  config.aggregates[0].idle_timeout = Millis(7 * kDay);
  config.events.max_future_skew = Millis(7 * kDay);
  config.buffer.state_ttl = Millis(30 * kDay);
  Harness h(config);
  const int64_t now = kT0;
  h.Commit({Reading("d1", now, 1), Reading("d1", now + 7 * kDay, 2),
            Reading("d1", now + 7 * kDay + 1, 3), Reading("d1", now - 30 * kDay - 1, 4),
            Reading("d2", tidegate::kMinRfc3339Ms, 5), Reading("d2", tidegate::kMaxRfc3339Ms, 6)},
           now);
  CHECK(h.counters["aggregate.temp_1m.future"] == 2);
  CHECK(h.counters["aggregate.temp_1m.too_old"] == 2);
  // The state of d1 is evicted (non-final) once idle for state_ttl.
  auto results = h.Commit({}, now + 30 * kDay);
  REQUIRE_FALSE(results.empty());
  for (const auto& r : results) CHECK_FALSE(r.final);
  CHECK(h.agg->stats(0).devices.load() == 0);
}

TEST_CASE("INT64_MAX durations and times at the ends of year 0000-9999 saturate",
          "[aggregate][issue-10]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Config config = MakeConfig(LatePolicy::kUpdate, Millis(kMax));
  config.aggregates[0].max_out_of_order = Millis(kMax);
  config.aggregates[0].idle_timeout = Millis(kMax);
  config.events.max_future_skew = Millis(kMax);
  config.buffer.state_ttl = Millis(kMax);
  Harness h(config);
  for (int64_t now : {tidegate::kMinRfc3339Ms, kT0, tidegate::kMaxRfc3339Ms}) {
    INFO(now);
    CHECK(h.Commit({Reading("d1", tidegate::kMinRfc3339Ms, 1),
                    Reading("d1", tidegate::kMaxRfc3339Ms, 2), Reading("d2", now, 3)},
                   now)
              .empty());  // watermarks saturate at "none": nothing closes
  }
  CHECK(h.counters["aggregate.temp_1m.future"] == 0);
  CHECK(h.counters["aggregate.temp_1m.too_old"] == 0);
  CHECK(h.agg->stats(0).devices.load() == 2);
}

namespace {

constexpr uint64_t kBudgetSlack = 1024;  // one admitted window's first sketch and sum buckets

Config BudgetConfig(uint64_t budget) {
  Config config = MakeConfig();
  config.aggregates[0].forward_raw = false;  // so the raw events stored are the refused ones
  config.buffer.state_max_bytes = budget;
  return config;
}

// Sums "count" over results, keeping the highest revision of each window.
double CountedInWindows(const std::map<std::pair<std::string, int64_t>, WindowResult>& latest) {
  double sum = 0;
  for (const auto& [key, r] : latest) sum += Stat(r, "count");
  return sum;
}

}  // namespace

TEST_CASE("a stream of new device ids keeps aggregation state within state_max_bytes",
          "[aggregate][budget][issue-10]") {
  constexpr uint64_t kBudget = 256 << 10;
  constexpr int kDevices = 20'000;
  Harness h(BudgetConfig(kBudget));
  std::map<std::pair<std::string, int64_t>, WindowResult> latest;
  const int64_t now = kT0 + 10'000;
  h.Commit({Reading("early", kT0 + 500, 10)}, now);
  size_t stored = 0;
  uint64_t peak = 0;
  for (int i = 0; i < kDevices; i += 100) {
    std::vector<Event> group;
    for (int j = i; j < i + 100; ++j)
      group.push_back(Reading("d" + std::to_string(j), kT0 + 1'000, 20));
    group.push_back(Reading("early", kT0 + 2'000, 30));  // a kept key is always updated
    for (const WindowResult& r : h.Commit(group, now)) latest[{r.group_key, r.window_start}] = r;
    for (const Event& e : h.stored) stored += e.store ? 1 : 0;
    peak = std::max(peak, h.agg->budget().used_bytes());
    REQUIRE(h.agg->budget().used_bytes() <= kBudget + kBudgetSlack);
    CHECK(h.agg->stats(0).state_bytes.load() == h.agg->budget().used_bytes());
  }
  INFO("peak state " << peak << " bytes of a " << kBudget << " budget");
  CHECK(peak >= kBudget * 9 / 10);  // it fills up, then refuses
  const auto over_budget = static_cast<size_t>(h.counters["aggregate.temp_1m.over_budget"]);
  const auto open = static_cast<size_t>(h.agg->stats(0).open_windows.load());
  CHECK(over_budget > kDevices / 2);
  CHECK(open + over_budget == kDevices + 1);  // every new device: one window or refused
  CHECK(stored == over_budget);               // each refused event is stored raw
  CHECK(h.agg->stats(0).over_budget.load() == over_budget);
  // Every device goes idle: the windows close; counted events plus refused ones are all events.
  for (const WindowResult& r : h.Commit({}, now + 5 * kMinute)) {
    latest[{r.group_key, r.window_start}] = r;
  }
  CHECK(latest.size() == open);
  // One "early" reading per commit group of 100 devices, and one before them.
  constexpr int kEarly = 1 + kDevices / 100;
  CHECK(Stat(latest.at({"early", kT0}), "count") == kEarly);
  CHECK(CountedInWindows(latest) + static_cast<double>(over_budget) == kDevices + kEarly);
}

TEST_CASE("closed windows are released for new keys, and their late events stay out",
          "[aggregate][budget][issue-10]") {
  constexpr uint64_t kBudget = 64 << 10;
  Harness h(BudgetConfig(kBudget));
  std::map<std::pair<std::string, int64_t>, WindowResult> latest;
  auto commit = [&](std::vector<Event> records, int64_t now) {
    for (const WindowResult& r : h.Commit(std::move(records), now)) {
      CHECK(latest.count({r.group_key, r.window_start}) == 0);  // no window opens twice
      latest[{r.group_key, r.window_start}] = r;
    }
  };
  auto flood = [&](const std::string& prefix, int64_t t, int64_t now) {
    std::vector<Event> group;
    group.reserve(1'000);
    for (int j = 0; j < 1'000; ++j) group.push_back(Reading(prefix + std::to_string(j), t, 20));
    commit(group, now);
  };
  flood("a", kT0 + 1'000, kT0 + 10'000);
  const int64_t refused_first = h.counters["aggregate.temp_1m.over_budget"];
  CHECK(refused_first > 0);
  commit({}, kT0 + 2 * kMinute);  // every device idle: its window closes and is held
  CHECK(h.agg->stats(0).held_windows.load() > 0);
  CHECK(h.agg->stats(0).open_windows.load() == 0);
  // New keys do not fit next to the held windows: refused, which asks for a reclaim.
  flood("b", kT0 + 2 * kMinute + 1'000, kT0 + 2 * kMinute + 1'000);
  CHECK(h.counters["aggregate.temp_1m.budget_released"] > 0);
  CHECK(h.agg->budget().used_bytes() <= kBudget / 4 * 3);
  const int64_t refused_before = h.counters["aggregate.temp_1m.over_budget"];
  flood("c", kT0 + 2 * kMinute + 2'000, kT0 + 2 * kMinute + 2'000);
  CHECK(h.agg->stats(0).open_windows.load() > 0);  // new keys are aggregated again
  CHECK(h.counters["aggregate.temp_1m.over_budget"] - refused_before < 1'000);
  // A late reading of a released window opens nothing; after a restart too.
  const int64_t counted =
      h.counters["aggregate.temp_1m.over_budget"] + h.counters["aggregate.temp_1m.too_late"];
  commit({Reading("a0", kT0 + 3'000, 99)}, kT0 + 2 * kMinute + 3'000);
  h.Restart(kT0 + 2 * kMinute + 4'000);
  commit({Reading("a1", kT0 + 3'000, 99)}, kT0 + 2 * kMinute + 4'000);
  CHECK(h.counters["aggregate.temp_1m.over_budget"] + h.counters["aggregate.temp_1m.too_late"] ==
        counted + 2);
  commit({}, kT0 + 10 * kMinute);
  CHECK(h.agg->budget().used_bytes() <= kBudget + kBudgetSlack);
}

TEST_CASE("restored counters keep over_budget across a restart", "[aggregate][budget]") {
  Harness h(BudgetConfig(64 << 10));
  h.agg->RestoreCounters({{"aggregate.temp_1m.over_budget", 42}, {"aggregate.other.x", 1}});
  CHECK(h.agg->stats(0).over_budget.load() == 42);
}

TEST_CASE("one aggregation's refusal releases another's closed windows: the budget is shared",
          "[aggregate][budget]") {
  Config config = BudgetConfig(64 << 10);
  AggregateSpec other = config.aggregates[0];
  other.name = "other_1m";
  other.match = "other/+/telemetry";
  config.aggregates.push_back(other);
  Harness h(config);
  auto flood = [&](const std::string& root, int64_t t, int64_t now) {
    std::vector<Event> group;
    for (int j = 0; j < 1'000; ++j) {
      group.push_back(Reading(root + std::to_string(j), t, 20));
      if (root == "o") group.back().topic = "other/o" + std::to_string(j) + "/telemetry";
    }
    h.Commit(group, now);
  };
  flood("d", kT0 + 1'000, kT0 + 10'000);  // temp_1m takes the whole budget
  h.Commit({}, kT0 + 2 * kMinute);        // its windows close and are held
  CHECK(h.agg->stats(0).held_windows.load() > 0);
  flood("o", kT0 + 2 * kMinute + 1'000, kT0 + 2 * kMinute + 1'000);
  CHECK(h.counters["aggregate.other_1m.over_budget"] > 0);
  CHECK(h.counters["aggregate.temp_1m.budget_released"] > 0);
  flood("o", kT0 + 2 * kMinute + 2'000, kT0 + 2 * kMinute + 2'000);
  CHECK(h.agg->stats(1).open_windows.load() > 0);
}
