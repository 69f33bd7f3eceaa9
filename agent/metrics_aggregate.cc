// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_aggregate.h"

#include <atomic>
#include <utility>

#include "agent/prometheus_text.h"

namespace tidegate::agent {
namespace {

using S = filters::AggregationStats;
constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::string_view kWatermarkLag = "tidegate_watermark_lag_seconds";
constexpr std::string_view kWatermarkLagHelp =
    "Now minus the oldest watermark of a device that is not idle, per aggregation";

// A family with one sample per aggregation.
template <typename ValueOf>
void PerAggregation(const filters::Aggregator& aggregator, std::string* out, std::string_view name,
                    std::string_view type, std::string_view help, ValueOf value_of) {
  FamilyHeader(out, name, type, help);
  for (size_t i = 0; i < aggregator.size(); ++i) {
    Sample(out, name, static_cast<double>(value_of(aggregator.stats(i))),
           "{" + Label("aggregation", aggregator.name(i)) + "}");
  }
}

void AppendLateEvents(const filters::Aggregator& aggregator, std::string* out) {
  constexpr std::string_view kName = "tidegate_late_events_total";
  FamilyHeader(out, kName, "counter",
               "Events for windows that already closed, or outside the aggregation's time "
               "range, by outcome");
  for (size_t i = 0; i < aggregator.size(); ++i) {
    const S& s = aggregator.stats(i);
    const std::string aggregation = Label("aggregation", aggregator.name(i));
    for (const auto& [outcome, counter] :
         {std::pair<const char*, const std::atomic<uint64_t>*>{"updated", &s.late_updated},
          {"dropped", &s.late_dropped},
          {"side_output", &s.late_side_output},
          {"too_late", &s.too_late},
          {"future", &s.future},
          {"too_old", &s.too_old}}) {
      Sample(out, kName, static_cast<double>(counter->load(kRelaxed)),
             "{" + aggregation + "," + Label("outcome", outcome) + "}");
    }
  }
}

void AppendBudget(const filters::Aggregator& aggregator, std::string* out) {
  const filters::StateBudget& budget = aggregator.budget();
  Metric(out, "tidegate_aggregate_state_max_bytes", "gauge",
         "buffer.state_max_bytes, the memory budget of all aggregations' state",
         static_cast<double>(budget.max_bytes()));
  Metric(out, "tidegate_aggregate_state_used_bytes", "gauge",
         "Estimated memory of all aggregations' state, counted against the budget",
         static_cast<double>(budget.used_bytes()));
}

}  // namespace

void AppendAggregationMetrics(const filters::Aggregator& aggregator, std::string* out) {
  if (aggregator.empty()) {
    FamilyHeader(out, kWatermarkLag, "gauge", kWatermarkLagHelp);
    return;
  }
  auto put = [&](std::string_view name, std::string_view type, std::string_view help,
                 auto value_of) { PerAggregation(aggregator, out, name, type, help, value_of); };
  put("tidegate_aggregate_open_groups", "gauge", "Open windows (group and window start)",
      [](const S& s) { return s.open_windows.load(kRelaxed); });
  put("tidegate_aggregate_held_windows", "gauge", "Closed windows held for allowed_lateness",
      [](const S& s) { return s.held_windows.load(kRelaxed); });
  put("tidegate_aggregate_devices", "gauge", "Devices with a watermark",
      [](const S& s) { return s.devices.load(kRelaxed); });
  put("tidegate_aggregate_state_bytes", "gauge", "Estimated memory of window state",
      [](const S& s) { return s.state_bytes.load(kRelaxed); });
  put(kWatermarkLag, "gauge", kWatermarkLagHelp,
      [](const S& s) { return static_cast<double>(s.watermark_lag_ms.load(kRelaxed)) / 1e3; });
  put("tidegate_window_results_total", "counter", "Window results emitted (all revisions)",
      [](const S& s) { return s.results.load(kRelaxed); });
  put("tidegate_aggregate_evicted_total", "counter", "Window state evicted after state_ttl",
      [](const S& s) { return s.evicted.load(kRelaxed); });
  put("tidegate_aggregate_over_budget_total", "counter",
      "Windows an event was not aggregated into because buffer.state_max_bytes was reached "
      "(the raw event is forwarded); persisted across restarts",
      [](const S& s) { return s.over_budget.load(kRelaxed); });
  put("tidegate_aggregate_budget_released_total", "counter",
      "Closed windows released before allowed_lateness ran out, to free the state budget",
      [](const S& s) { return s.budget_released.load(kRelaxed); });
  AppendBudget(aggregator, out);
  AppendLateEvents(aggregator, out);
}

}  // namespace tidegate::agent
