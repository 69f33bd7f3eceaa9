// SPDX-License-Identifier: Apache-2.0
#include "agent/aggregate_stage.h"

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

}  // namespace tidegate::agent
