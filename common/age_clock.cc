// SPDX-License-Identifier: Apache-2.0
#include "common/age_clock.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "common/sat_time.h"

namespace tidegate {
namespace {

int64_t MonoMs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct Pair {
  int64_t mono_ms;
  int64_t wall_ms;
};

Pair ReadBoth(Clock& clock) {
  Pair p{};
  p.mono_ms = MonoMs(clock.Monotonic());
  p.wall_ms = clock.NowUnixMs();
  return p;
}

}  // namespace

AgeClock::AgeClock(Clock& clock, int64_t start_age_ms, int64_t step_threshold_ms)
    : clock_(clock),
      threshold_ms_(step_threshold_ms),
      start_age_ms_(start_age_ms),
      start_mono_ms_(MonoMs(clock.Monotonic())),
      last_age_ms_(start_age_ms) {
  const Pair p = ReadBoth(clock);
  offset_ms_ = p.wall_ms - p.mono_ms;
}

TimeReading AgeClock::Now() {
  Pair p = ReadBoth(clock_);
  std::lock_guard<std::mutex> lock(mu_);
  int64_t offset = p.wall_ms - p.mono_ms;
  int64_t moved = offset - offset_ms_;
  if (moved > threshold_ms_ || moved < -threshold_ms_) {
    // Confirmed by a second reading, so a thread preempted between its two clock reads
    // cannot pass for a step (the common path reads each clock once).
    p = ReadBoth(clock_);
    offset = p.wall_ms - p.mono_ms;
    moved = offset - offset_ms_;
  }
  const int64_t age = std::max(last_age_ms_, SatAdd(start_age_ms_, p.mono_ms - start_mono_ms_));
  last_age_ms_ = age;
  if (moved > threshold_ms_ || moved < -threshold_ms_) {
    ++steps_;
    before_step_offset_ms_ = offset_ms_;
    grace_until_age_ms_ = SatAdd(age, kStepGraceMs);
    spdlog::warn(
        "clock: the wall clock stepped {} by {:.3f} s ({:.1f} days); buffered data, dedup keys "
        "and window state age on the monotonic clock and are not affected (step {} since start)",
        moved > 0 ? "forward" : "back", static_cast<double>(std::abs(moved)) / 1e3,
        static_cast<double>(std::abs(moved)) / 86'400e3, steps_);
  }
  offset_ms_ = offset;  // also follows slow drift (NTP slewing) between readings
  TimeReading r{
      .wall_ms = p.wall_ms, .age_ms = age, .wall_low_ms = p.wall_ms, .wall_high_ms = p.wall_ms};
  if (grace_until_age_ms_ != 0 && age < grace_until_age_ms_) {
    const int64_t before = SatAdd(p.mono_ms, before_step_offset_ms_);
    r.wall_low_ms = std::min(r.wall_low_ms, before);
    r.wall_high_ms = std::max(r.wall_high_ms, before);
  }
  return r;
}

uint64_t AgeClock::steps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steps_;
}

}  // namespace tidegate
