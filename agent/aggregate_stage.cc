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

// An aggregator that owns the config it refers to.
std::shared_ptr<filters::Aggregator> MakeAggregator(const Config& config) {
  auto owned = std::make_shared<const Config>(config);
  return {new filters::Aggregator(*owned), [owned](filters::Aggregator* a) { delete a; }};
}

}  // namespace

AggregateStage::AggregateStage(const Config& config, buffer::SqliteStore& store)
    : store_(store), current_(MakeAggregator(config)) {}

void AggregateStage::Reconfigure(const Config& next) {
  const std::lock_guard<std::mutex> lock(mu_);
  pending_ = next;
}

std::shared_ptr<const filters::Aggregator> AggregateStage::aggregator() const {
  const std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void AggregateStage::SwapIfPending(const TimeReading& now, buffer::CommitExtras& extras) {
  if (!last_commit_ok_) return;  // the checkpoint lacks the failed commit's state changes
  std::optional<Config> next;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    next.swap(pending_);
  }
  if (!next) return;
  std::shared_ptr<filters::Aggregator> fresh = MakeAggregator(*next);
  // Everything the running aggregator did is committed (the last commit succeeded), so the
  // checkpoint is its state.
  auto rows = store_.LoadState();
  auto stats = store_.Stats();
  if (!rows.ok() || !stats.ok()) {
    spdlog::error("aggregate: cannot read the checkpoint, the new aggregations wait: {}",
                  (rows.ok() ? stats.status() : rows.status()).ToString());
    const std::lock_guard<std::mutex> lock(mu_);
    if (!pending_) pending_ = std::move(next);
    return;
  }
  const size_t dropped = fresh->Load(*rows, now.age_ms, &changes_);
  fresh->RestoreCounters(stats->counters);
  std::vector<buffer::StateWrite> writes = ToStateWrites(changes_);
  extras.state.insert(extras.state.end(), std::make_move_iterator(writes.begin()),
                      std::make_move_iterator(writes.end()));
  spdlog::info(
      "aggregate: applied live, {} aggregation(s); {} checkpoint rows of changed or "
      "removed ones discarded",
      fresh->size(), dropped);
  const std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(fresh);
}

void AggregateStage::Process(std::vector<Event>& records, const TimeReading& now,
                             buffer::CommitExtras& extras) {
  SwapIfPending(now, extras);
  current_->Process(records, now, &changes_, &extras.counters);
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
