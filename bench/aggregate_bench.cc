// SPDX-License-Identifier: Apache-2.0
// Cost of event-time aggregation per event, as the buffer's writer runs it: groups of 1,000
// events from 10,000 devices (one group each, 3 measures, p95 sketch) through
// Aggregator::Process, including the checkpoint rows it encodes; and the same groups
// committed into a real SQLite buffer with and without the aggregator, so the cost of the
// checkpoint writes is visible. Run: build/bin/aggregate_bench --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <filesystem>

#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "filters/aggregator.h"

namespace {

using tidegate::Event;

constexpr int kDevices = 10'000;
constexpr int kGroup = 1'000;
constexpr int64_t kT0 = 1'795'532'327'291;

tidegate::Config MakeConfig() {
  tidegate::Config config;
  tidegate::AggregateSpec spec;
  spec.name = "telemetry_1m";
  spec.match = "devices/+/telemetry";
  spec.group_by = {"device_id"};
  spec.measures = {{"/temp", {"count", "avg", "p95"}},
                   {"/humidity", {"min", "max", "avg"}},
                   {"/battery", {"last"}}};
  spec.idle_timeout = tidegate::Millis(3'600'000);
  config.aggregates.push_back(spec);
  return config;
}

constexpr int64_t kEventsPerSecond = 15'000;  // about the measured end-to-end rate

// Event i of a stream arriving at kEventsPerSecond, from device i % kDevices (one event per
// device every 0.67 s, ~90 per one-minute window).
int64_t TimeOf(int64_t i) { return kT0 + i * 1000 / kEventsPerSecond; }

Event MakeEvent(tidegate::Rng& rng, int64_t i) {
  Event e;
  std::string device = "dev-" + std::to_string(i % kDevices);
  e.topic = "devices/" + device + "/telemetry";
  e.device_id = device;
  e.event_time_ms = TimeOf(i);
  e.ingest_time_ms = TimeOf(i);
  e.payload = R"({"device_id":")" + device + R"(","msg_id":"b28adbf7f1fde1b0","ts":)" +
              std::to_string(e.event_time_ms) + R"(,"seq":1,"temp":)" +
              std::to_string(18 + static_cast<double>(rng.Uniform(1200)) / 100.0) +
              R"(,"humidity":)" +
              std::to_string(40 + static_cast<double>(rng.Uniform(400)) / 10.0) + R"(,"battery":)" +
              std::to_string(rng.Uniform(100)) + "}";
  return e;
}

void BM_AggregateProcess(benchmark::State& state) {
  tidegate::Config config = MakeConfig();
  tidegate::filters::Aggregator aggregator(config);
  tidegate::Rng rng(7);
  int64_t i = 0;
  std::vector<tidegate::filters::StateChange> changes;
  std::map<std::string, int64_t> counters;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    state.PauseTiming();
    std::vector<Event> group;
    group.reserve(kGroup);
    for (int k = 0; k < kGroup; ++k) group.push_back(MakeEvent(rng, i++));
    changes.clear();
    state.ResumeTiming();
    aggregator.Process(group, TimeOf(i), &changes, &counters);
    benchmark::DoNotOptimize(changes.data());
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
  state.counters["open_groups"] = static_cast<double>(aggregator.stats(0).open_windows.load());
  state.counters["state_bytes_per_group"] =
      static_cast<double>(aggregator.stats(0).state_bytes.load()) /
      std::max<double>(1, static_cast<double>(aggregator.stats(0).open_windows.load()));
}
BENCHMARK(BM_AggregateProcess)->Unit(benchmark::kMicrosecond);

// Group commit into SQLite on disk, with (1) or without (0) the aggregator's rows.
void BM_CommitWithAggregation(benchmark::State& state) {
  const bool aggregate = state.range(0) != 0;
  auto dir = std::filesystem::temp_directory_path() / ("tg-aggbench-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto store = tidegate::buffer::SqliteStore::Open({.state_dir = dir.string()});
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  tidegate::Config config = MakeConfig();
  tidegate::filters::Aggregator aggregator(config);
  tidegate::Rng rng(7);
  int64_t i = 0;
  std::map<std::string, int64_t> counters;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): Benchmark's idiom
    state.PauseTiming();
    std::vector<Event> group;
    group.reserve(kGroup);
    for (int k = 0; k < kGroup; ++k) group.push_back(MakeEvent(rng, i++));
    state.ResumeTiming();
    std::vector<tidegate::filters::StateChange> changes;
    std::vector<tidegate::buffer::StateWrite> writes;
    if (aggregate) {
      aggregator.Process(group, TimeOf(i), &changes, &counters);
      for (auto& c : changes) writes.push_back({std::move(c.key), std::move(c.value), c.erase});
    }
    auto status = (*store)->Append(group, {}, {}, {}, writes);
    if (!status.ok()) state.SkipWithError(status.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kGroup);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CommitWithAggregation)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
