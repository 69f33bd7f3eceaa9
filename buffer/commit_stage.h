// SPDX-License-Identifier: Apache-2.0
// CommitStage: work that runs on the buffer's writer thread over each group of staged records
// just before they are committed, so that what it derives from them (window results, window
// state checkpoints) lands in the same SQLite transaction as the records themselves. A kill -9
// can then never separate an event from its effect on the aggregation state. The event-time
// aggregator (filters/aggregator.h) is the one implementation.
// Thread-safety: called only from the writer thread, never concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/age_clock.h"
#include "common/event.h"

namespace tidegate::buffer {

// One row of the agg_state table: a checkpointed piece of aggregation state.
struct StateWrite {
  std::string key = {};
  std::string value = {};  // ignored when erase
  bool erase = false;      // delete the row instead of writing it
};

// What a commit carries besides the staged records; filled by the stage.
struct CommitExtras {
  std::vector<StateWrite> state;            // applied in order, last write of a key wins
  std::map<std::string, int64_t> counters;  // persisted counter increments
};

class CommitStage {
 public:
  virtual ~CommitStage() = default;
  // Sees each staged record exactly once, in arrival order, and may flag records, mark them
  // not to be stored (Event::store = false; their dedup keys are still written) and append
  // new records (window results). now is the store's AgeClock reading: its age line for idle
  // timeouts and TTLs, its wall clock for timestamps. Called with an empty `records` about
  // once a second while nothing arrives, so idle windows close.
  virtual void Process(std::vector<Event>& records, const TimeReading& now,
                       CommitExtras& extras) = 0;
  // The outcome of the commit that carried the last Process's output: false keeps that
  // output for the next attempt (not yet in the store). Writer thread.
  virtual void Committed(bool ok) { (void)ok; }
};

}  // namespace tidegate::buffer
