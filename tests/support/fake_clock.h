// SPDX-License-Identifier: Apache-2.0
// FakeClock: a Clock for unit tests whose wall clock and monotonic clock are set separately,
// so a test can advance time (both move) or step the wall clock alone, as NTP does to a
// gateway that booted without a battery-backed clock. Not thread-safe: set it from the
// test's thread while nothing else reads it, or only read it concurrently.
#pragma once

#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace tidegate::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_ms = 1'700'000'000'000) : wall_ms_(wall_ms) {}
  int64_t NowUnixMs() override { return wall_ms_; }
  std::chrono::steady_clock::time_point Monotonic() override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(mono_ms_));
  }
  // Real time passes: both clocks move.
  void Advance(int64_t ms) {
    wall_ms_ += ms;
    mono_ms_ += ms;
  }
  // The wall clock is set (a step): the monotonic clock does not move.
  void StepWall(int64_t ms) { wall_ms_ += ms; }
  int64_t wall_ms() const { return wall_ms_; }

 private:
  int64_t wall_ms_;
  int64_t mono_ms_ = 1'000'000;
};

inline constexpr int64_t kYearMs = 365LL * 24 * 3'600'000;
inline constexpr int64_t kDayMs = 24LL * 3'600'000;

}  // namespace tidegate::testing
