// SPDX-License-Identifier: Apache-2.0
#include "agent/aggregate_stage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace tidegate::agent {
namespace {

std::vector<buffer::StateWrite> ToStateWrites(std::vector<filters::StateChange>& changes) {
  std::vector<buffer::StateWrite> writes;
  writes.reserve(changes.size());
  for (filters::StateChange& c : changes) {
    writes.push_back(
        buffer::StateWrite{.key = std::move(c.key), .value = std::move(c.value), .erase = c.erase});
  }
  changes.clear();
  return writes;
}

}  // namespace

void AggregateStage::Process(std::vector<Event>& records, const TimeReading& now,
                             buffer::CommitExtras& extras) {
  aggregator_.Process(records, now, &changes_, &extras.counters);
  std::vector<buffer::StateWrite> writes = ToStateWrites(changes_);
  extras.state.insert(extras.state.end(), std::make_move_iterator(writes.begin()),
                      std::make_move_iterator(writes.end()));
}

Status RestoreAggregation(filters::Aggregator& aggregator, buffer::SqliteStore& store) {
  TG_ASSIGN_OR_RETURN(auto rows, store.LoadState());
  std::vector<filters::StateChange> cleanup;
  size_t dropped = aggregator.Load(rows, store.age_clock().Now().age_ms, &cleanup);
  if (!cleanup.empty()) TG_RETURN_IF_ERROR(store.Append({}, {}, {}, {}, ToStateWrites(cleanup)));
  TG_ASSIGN_OR_RETURN(buffer::StoreStats stats, store.Stats());
  aggregator.RestoreCounters(stats.counters);
  for (size_t i = 0; i < aggregator.size(); ++i) {
    const filters::AggregationStats& s = aggregator.stats(i);
    spdlog::info("aggregate {}: restored {} open and {} held windows of {} devices",
                 aggregator.name(i), s.open_windows.load(), s.held_windows.load(),
                 s.devices.load());
  }
  if (dropped > 0) {
    spdlog::warn(
        "aggregate: discarded {} checkpoint rows of aggregations that were removed or "
        "reconfigured",
        dropped);
  }
  return Status::Ok();
}

void AppendAggregationMetrics(const filters::Aggregator& aggregator, std::string* out) {
  if (aggregator.empty()) return;
  auto put = [&](std::string_view name, std::string_view type, std::string_view help,
                 auto value_of) {
    fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
    for (size_t i = 0; i < aggregator.size(); ++i) {
      fmt::format_to(std::back_inserter(*out), "{}{{aggregation=\"{}\"}} {}\n", name,
                     aggregator.name(i), value_of(aggregator.stats(i)));
    }
  };
  using S = filters::AggregationStats;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  put("tidegate_aggregate_open_groups", "gauge", "Open windows (group and window start)",
      [&](const S& s) { return s.open_windows.load(kRelaxed); });
  put("tidegate_aggregate_held_windows", "gauge", "Closed windows held for allowed_lateness",
      [&](const S& s) { return s.held_windows.load(kRelaxed); });
  put("tidegate_aggregate_devices", "gauge", "Devices with a watermark",
      [&](const S& s) { return s.devices.load(kRelaxed); });
  put("tidegate_aggregate_state_bytes", "gauge", "Estimated memory of window state",
      [&](const S& s) { return s.state_bytes.load(kRelaxed); });
  put("tidegate_watermark_lag_seconds", "gauge",
      "Now minus the oldest watermark of a device that is not idle",
      [&](const S& s) { return static_cast<double>(s.watermark_lag_ms.load(kRelaxed)) / 1e3; });
  put("tidegate_window_results_total", "counter", "Window results emitted (all revisions)",
      [&](const S& s) { return s.results.load(kRelaxed); });
  put("tidegate_aggregate_evicted_total", "counter", "Window state evicted after state_ttl",
      [&](const S& s) { return s.evicted.load(kRelaxed); });
  put("tidegate_aggregate_over_budget_total", "counter",
      "Windows an event was not aggregated into because buffer.state_max_bytes was reached "
      "(the raw event is forwarded); persisted across restarts",
      [&](const S& s) { return s.over_budget.load(kRelaxed); });
  put("tidegate_aggregate_budget_released_total", "counter",
      "Closed windows released before allowed_lateness ran out, to free the state budget",
      [&](const S& s) { return s.budget_released.load(kRelaxed); });
  const filters::StateBudget& budget = aggregator.budget();
  fmt::format_to(std::back_inserter(*out),
                 "# HELP tidegate_aggregate_state_max_bytes buffer.state_max_bytes, the memory "
                 "budget of all aggregations' state\n"
                 "# TYPE tidegate_aggregate_state_max_bytes gauge\n"
                 "tidegate_aggregate_state_max_bytes {}\n"
                 "# HELP tidegate_aggregate_state_used_bytes Estimated memory of all "
                 "aggregations' state, counted against the budget\n"
                 "# TYPE tidegate_aggregate_state_used_bytes gauge\n"
                 "tidegate_aggregate_state_used_bytes {}\n",
                 budget.max_bytes(), budget.used_bytes());
  fmt::format_to(std::back_inserter(*out),
                 "# HELP tidegate_late_events_total Events for windows that already closed, or "
                 "outside the aggregation's time range, by outcome\n"
                 "# TYPE tidegate_late_events_total counter\n");
  for (size_t i = 0; i < aggregator.size(); ++i) {
    const S& s = aggregator.stats(i);
    for (const auto& [outcome, counter] :
         {std::pair<const char*, const std::atomic<uint64_t>*>{"updated", &s.late_updated},
          {"dropped", &s.late_dropped},
          {"side_output", &s.late_side_output},
          {"too_late", &s.too_late},
          {"future", &s.future},
          {"too_old", &s.too_old}}) {
      fmt::format_to(std::back_inserter(*out),
                     "tidegate_late_events_total{{aggregation=\"{}\",outcome=\"{}\"}} {}\n",
                     aggregator.name(i), outcome, counter->load(kRelaxed));
    }
  }
}

}  // namespace tidegate::agent
