// SPDX-License-Identifier: Apache-2.0
// AggregateStage: runs the event-time aggregator (filters/aggregator.h) as the buffer
// writer's commit stage, so window results and window checkpoints commit in the same
// transaction as the events that produced them; and renders its metrics.
// Thread-safety: Process runs on the writer thread only; RenderAggregationMetrics may run on
// any thread (it reads relaxed atomics).
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

// Prometheus lines for every aggregation: open groups, watermark lag, late events by outcome.
void AppendAggregationMetrics(const filters::Aggregator& aggregator, std::string* out);

}  // namespace tidegate::agent
