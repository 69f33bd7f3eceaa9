// SPDX-License-Identifier: Apache-2.0
// DurationHistogram: a lock-free histogram of durations with fixed bucket bounds in seconds,
// for the commit and checkpoint durations on the metrics page (rendered as a Prometheus
// histogram). One thread observes (the buffer writer), any thread reads a Snapshot; a
// snapshot taken during an Observe may count it in `count` but not yet in its bucket,
// which Prometheus tolerates (the next scrape is consistent again).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace tidegate {

class DurationHistogram {
 public:
  // Upper bounds (seconds, "le"). A commit on an SSD takes about 1 ms, on an SD card with
  // sync: full tens of ms; a checkpoint up to seconds. Past 10 s only +Inf counts.
  static constexpr std::array<double, 14> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

  struct Snapshot {
    std::array<uint64_t, kBounds.size()> cumulative{};  // observations <= kBounds[i]
    uint64_t count = 0;                                 // all observations (the +Inf bucket)
    double sum_seconds = 0;
  };

  void Observe(std::chrono::nanoseconds elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    if (i < kBounds.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(elapsed.count() < 0 ? 0 : elapsed.count()),
                      std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  Snapshot Read() const {
    Snapshot s;
    s.count = count_.load(std::memory_order_relaxed);
    uint64_t running = 0;
    for (size_t i = 0; i < kBounds.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.cumulative[i] = running;
    }
    // A bucket can be read after the count it belongs to was: keep +Inf the largest.
    if (running > s.count) s.count = running;
    s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size()> buckets_{};  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace tidegate
