// SPDX-License-Identifier: Apache-2.0
// Aggregator: the `aggregate[]` stage. Groups events by event time into tumbling or hopping
// windows per group key, keeps per-device watermarks, closes windows on them, and emits
// WindowResult records (common/window_result.h) with revisions for late data.
//
// Semantics (SPEC "Event time"):
// - A device's watermark is its max event time minus max_out_of_order. A window of a group
//   closes (revision 0, final) once every device that fed it has a watermark at or past its
//   end or has been silent for idle_timeout. Watermarks are per device, so a device that
//   syncs an hour of old readings fills its own windows for that hour.
// - An event for a window that already closed is late. Within allowed_lateness (the window
//   is still held) late_events decides: update adds it and emits revision+1 with the full
//   corrected values (late events of one commit share one revision); drop counts it;
//   side_output counts it and forwards the raw event with the late flag. A closed window is
//   held until every device that fed it has a watermark past end + allowed_lateness (or the
//   state_ttl); an event for a window no longer held, or whose end + allowed_lateness is at or
//   behind its device's watermark, is too late: counted, and forwarded flagged late with
//   side_output.
// - Event times beyond events.max_future_skew ahead of now are not aggregated (counted) and
//   never move a watermark; times before the state horizon (now - buffer.state_ttl) are too
//   old (counted). "Now" is the wall clock, but for a day after a wall-clock step both sides
//   of the step count (TimeReading::wall_low_ms/wall_high_ms): a step alone never turns
//   current events into future or too old ones.
// - State idle for buffer.state_ttl is evicted, counted; an open window evicted that way is
//   emitted first with final = false. Idle time (state_ttl, idle_timeout) is measured on the
//   AgeClock's age line, which a wall-clock step does not move.
// - Memory: all aggregations share one budget, buffer.state_max_bytes (StateBudget), for their
//   per-key state (windows with their measures and sketches, devices, groups). State for a new
//   key (a new device, a new window, a device joining a window) is created only if its
//   estimated cost fits. Otherwise the event is not aggregated into that window: counted as
//   over_budget (once per window refused; once per event with tumbling windows), and the raw
//   event is stored and forwarded unflagged, also with forward_raw: false, so nothing is lost.
//   Keys already kept are always updated (a kept window's sketch may still grow: the only way
//   past the budget). After a refusal, at most once a second, closed windows of every
//   aggregation (their final result is out) are released early, least recently updated
//   first, until 3/4 of the budget is used (counted as budget_released; a late event for one
//   is then too late, as after allowed_lateness), then idle devices and groups left without
//   windows. From then on no window ending at or before the newest one released is opened
//   (over_budget; a released horizon, checkpointed), so no window is ever opened twice.
//   Open windows are never cut short: each result stays exact for what it counted, and a key
//   refused while over budget can open its window later; that result then lacks the refused
//   events, which landed raw.
// - The state is checkpointed as key/value rows (Checkpoint) committed with the events that
//   changed it; Load restores it, so a restart continues exactly where the commit left off.
// Not thread-safe: used only by the buffer's writer thread; stats() is readable anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/age_clock.h"
#include "common/config.h"
#include "common/event.h"
#include "filters/state_budget.h"

namespace tidegate::filters {

// One row of the checkpoint to write (or erase) with the current commit.
struct StateChange {
  std::string key;
  std::string value = {};
  bool erase = false;
};

// Live counters of one aggregation, for /metrics. Relaxed atomics: written by the writer
// thread, read by the metrics thread.
struct AggregationStats {
  std::atomic<int64_t> open_windows{0};
  std::atomic<int64_t> held_windows{0};  // closed, waiting out allowed_lateness
  std::atomic<int64_t> devices{0};
  std::atomic<int64_t> watermark_lag_ms{0};  // now - oldest watermark of an active device
  std::atomic<uint64_t> results{0};          // window results emitted
  std::atomic<uint64_t> late_updated{0};
  std::atomic<uint64_t> late_dropped{0};
  std::atomic<uint64_t> late_side_output{0};
  std::atomic<uint64_t> too_late{0};         // later than allowed_lateness
  std::atomic<uint64_t> future{0};           // beyond max_future_skew
  std::atomic<uint64_t> too_old{0};          // before the state horizon
  std::atomic<uint64_t> evicted{0};          // state dropped after state_ttl
  std::atomic<uint64_t> over_budget{0};      // windows an event was kept out of by the state budget
  std::atomic<uint64_t> budget_released{0};  // closed windows released early for the budget
  std::atomic<uint64_t> state_bytes{0};      // estimated memory of windows, devices and groups
};

class Aggregator {
 public:
  // config must outlive the aggregator.
  explicit Aggregator(const Config& config);
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  bool empty() const;

  // Restores checkpoint rows from an earlier run (SqliteStore::LoadState); now_ms is the age
  // line (a restart gives every device and window a fresh idle time). Rows that do not
  // decode or belong to an aggregation no longer configured (or configured differently) are
  // dropped, returned as erase changes in *cleanup and counted in the result.
  size_t Load(const std::vector<std::pair<std::string, std::string>>& rows, int64_t now_ms,
              std::vector<StateChange>* cleanup);
  // Starts the budget's stats (over_budget, budget_released) from the persisted counters
  // (name aggregate.<name>.<what>, as Process writes them).
  void RestoreCounters(const std::map<std::string, int64_t>& persisted);

  // Runs every record through the aggregations its topic matches, in order: may set the
  // late flag, clear Event::store (forward_raw: false) and append window results. Then closes
  // what the watermarks and idle timeouts allow. Appends the checkpoint changes to *state
  // and counter increments (aggregate.<name>.<what>) to *counters. Window results carry
  // now.wall_ms as ingest time and now.age_ms as age stamp.
  void Process(std::vector<Event>& records, const TimeReading& now, std::vector<StateChange>* state,
               std::map<std::string, int64_t>* counters);
  // The same with a clock that never steps (wall and age line both now_ms).
  void Process(std::vector<Event>& records, int64_t now_ms, std::vector<StateChange>* state,
               std::map<std::string, int64_t>* counters) {
    Process(records,
            TimeReading{
                .wall_ms = now_ms, .age_ms = now_ms, .wall_low_ms = now_ms, .wall_high_ms = now_ms},
            state, counters);
  }

  size_t size() const;  // number of aggregations
  const std::string& name(size_t i) const;
  const AggregationStats& stats(size_t i) const;
  const StateBudget& budget() const;

 private:
  class Spec;
  std::unique_ptr<StateBudget> budget_;  // before specs_: their accounts return to it
  std::vector<std::unique_ptr<Spec>> specs_;
};

}  // namespace tidegate::filters
