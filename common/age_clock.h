// SPDX-License-Identifier: Apache-2.0
// AgeClock: step-free time for retention and TTLs. A gateway without a battery-backed clock
// boots with a wall clock in the past and steps forward, sometimes by years, when NTP syncs
// (and can step back). Judging max_age, state_ttl or dedup.window by the wall clock would
// expire data, evict state or reclassify events by the step alone. AgeClock keeps an "age
// line" that advances only with the monotonic clock and continues, after a restart, from the
// value the buffer persisted (downtime does not count), and detects wall-clock steps: wall
// minus monotonic moving by more than a threshold between two readings. Each step is counted
// and logged once. Shared by the ingest, writer, uplink and metrics threads; thread-safe.
#pragma once

#include <cstdint>
#include <mutex>

#include "common/clock.h"

namespace tidegate {

// One reading of both clocks.
struct TimeReading {
  // The wall clock (ingest_time, created_at): jumps with a step.
  int64_t wall_ms = 0;
  // The age line: never jumps, and only differences between readings mean anything. It
  // starts at the wall clock when a buffer is created, so an age stamp looks like a time.
  int64_t age_ms = 0;
  // Where the wall clock may really be: for kStepGraceMs of age after a step, the range
  // between the new wall clock and the old one continued by elapsed time; otherwise both
  // are wall_ms. Event times are judged against it (future skew, too old), so a step of
  // the gateway's clock alone never turns current events into "future" or "too old" ones.
  int64_t wall_low_ms = 0;
  int64_t wall_high_ms = 0;
};

class AgeClock {
 public:
  // NTP slews at most 0.5 ms/s; readings come at least every second, so only a step (or a
  // thread preempted between its two clock reads, which Now() retries) moves this far.
  static constexpr int64_t kDefaultStepThresholdMs = 2'000;
  // How long both sides of a step are trusted for event times (a day of age).
  static constexpr int64_t kStepGraceMs = int64_t{24} * 3'600'000;

  // Starts the age line at start_age_ms (what an earlier run persisted, or the wall clock
  // for a new buffer). clock must outlive this object.
  AgeClock(Clock& clock, int64_t start_age_ms, int64_t step_threshold_ms = kDefaultStepThresholdMs);

  // Reads both clocks, detects a step (counted and logged once) and returns the reading.
  TimeReading Now();
  // Wall-clock steps detected since start.
  uint64_t steps() const;
  Clock& clock() const { return clock_; }

 private:
  Clock& clock_;
  const int64_t threshold_ms_;
  const int64_t start_age_ms_;
  const int64_t start_mono_ms_;
  mutable std::mutex mu_;
  int64_t offset_ms_;                  // guarded by mu_: wall minus monotonic at the last reading
  int64_t last_age_ms_;                // guarded by mu_: readings never go back across threads
  int64_t before_step_offset_ms_ = 0;  // guarded by mu_: offset_ms_ before the last step
  int64_t grace_until_age_ms_ = 0;     // guarded by mu_: 0 until a step was seen
  uint64_t steps_ = 0;                 // guarded by mu_
};

}  // namespace tidegate
