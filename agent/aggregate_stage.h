// SPDX-License-Identifier: Apache-2.0
// AggregateStage: runs the event-time aggregator (filters/aggregator.h) as the buffer
// writer's commit stage, so window results and window checkpoints commit in the same
// transaction as the events that produced them. Its metrics: agent/metrics_aggregate.h.
// Thread-safety: Process runs on the writer thread only.
#pragma once

#include <string>

#include "buffer/commit_stage.h"
#include "buffer/sqlite_store.h"
#include "filters/aggregator.h"

namespace tidegate::agent {

class AggregateStage : public buffer::CommitStage {
 public:
  // aggregator must outlive the stage.
  explicit AggregateStage(filters::Aggregator& aggregator) : aggregator_(aggregator) {}

  void Process(std::vector<Event>& records, const TimeReading& now,
               buffer::CommitExtras& extras) override;

 private:
  filters::Aggregator& aggregator_;
  std::vector<filters::StateChange> changes_;  // reused
};

// Restores the aggregator's checkpoint from the store (before the writer starts) and erases
// rows that no longer fit the configuration. Logs what it did.
Status RestoreAggregation(filters::Aggregator& aggregator, buffer::SqliteStore& store);

}  // namespace tidegate::agent
