// SPDX-License-Identifier: Apache-2.0
// Heartbeat: when a long-running thread last went round its loop, for the liveness checks
// (/healthz and the systemd watchdog). The owning thread beats, also while it waits (its waits
// are bounded so that an idle loop still beats); any thread reads. Lock-free, so a thread that
// deadlocks cannot hang its reader as well.
#pragma once

#include <atomic>
#include <chrono>

namespace tidegate {

class Heartbeat {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit Heartbeat(TimePoint now) { Beat(now); }

  // `at` is normally now. A time in the future declares a blocking call bounded by its own
  // timeout (an upload): the thread counts as alive until then.
  void Beat(TimePoint at) {
    ticks_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  }

  TimePoint last() const {
    return TimePoint(TimePoint::duration(ticks_.load(std::memory_order_relaxed)));
  }

 private:
  std::atomic<TimePoint::rep> ticks_{0};
};

}  // namespace tidegate
