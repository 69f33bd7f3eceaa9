// SPDX-License-Identifier: Apache-2.0
// AggregateStage: runs the event-time aggregator (filters/aggregator.h) as the buffer
// writer's commit stage, so window results and window checkpoints commit in the same
// transaction as the events that produced them. Its metrics: agent/metrics_aggregate.h.
// A live config apply (Reconfigure) replaces the aggregator between two groups, on the
// writer thread, the way a restart does: the new one loads the committed checkpoint, so an
// aggregation whose definition did not change keeps its open windows and watermarks, and a
// changed or new one starts with fresh state (its old rows are erased in the same commit).
// Thread-safety: Process runs on the writer thread only; Reconfigure and aggregator() may be
// called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "buffer/commit_stage.h"
#include "buffer/sqlite_store.h"
#include "common/config.h"
#include "filters/aggregator.h"

namespace tidegate::agent {

class AggregateStage : public buffer::CommitStage {
 public:
  // Builds the aggregator of config (a copy is kept with it). store must outlive the stage.
  AggregateStage(const Config& config, buffer::SqliteStore& store);

  void Process(std::vector<Event>& records, const TimeReading& now,
               buffer::CommitExtras& extras) override;
  void Committed(bool ok) override { last_commit_ok_ = ok; }

  // The aggregations of `next` take over at the start of the writer's next group (within
  // the commit interval, or the writer's idle tick). Until then the old ones run.
  void Reconfigure(const Config& next);

  // The running aggregator, for metrics (its stats are atomics).
  std::shared_ptr<const filters::Aggregator> aggregator() const;
  // The running aggregator, for RestoreAggregation before the writer starts.
  filters::Aggregator& writer_aggregator() { return *current_; }

 private:
  // Writer thread: replaces current_ by the pending aggregations, if any. Waits while the
  // last commit failed (its output, state changes included, is not in the store yet); a
  // store error keeps the old ones running and the new ones pending (logged, tried again).
  void SwapIfPending(const TimeReading& now, buffer::CommitExtras& extras);

  buffer::SqliteStore& store_;
  std::vector<filters::StateChange> changes_;  // reused; writer thread only
  bool last_commit_ok_ = true;                 // writer thread only
  mutable std::mutex mu_;
  // Replaced only by the writer thread (under mu_), which reads it without the lock.
  std::shared_ptr<filters::Aggregator> current_;
  std::optional<Config> pending_;  // guarded by mu_
};

// Restores the aggregator's checkpoint from the store (before the writer starts) and erases
// rows that no longer fit the configuration. Logs what it did.
Status RestoreAggregation(filters::Aggregator& aggregator, buffer::SqliteStore& store);

}  // namespace tidegate::agent
