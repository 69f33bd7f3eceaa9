// SPDX-License-Identifier: Apache-2.0
// Clock and Rng: every reading of time and every random draw goes through these, so tests
// can inject a FakeClock or a seeded Rng. Only common/clock.cc calls system_clock::now().
// RealClock and Rng are not shared between threads without external locking (Rng) or are
// thread-safe (RealClock).
#pragma once

#include <chrono>
#include <cstdint>

namespace tidegate {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch (ingest_time, created_at).
  virtual int64_t NowUnixMs() = 0;
  // Monotonic time for timeouts, linger and backoff; unrelated to the epoch.
  virtual std::chrono::steady_clock::time_point Monotonic() = 0;
};

// The process's real clock. Thread-safe. The returned reference lives forever.
Clock& RealClock();

// A small, fast, seedable generator (splitmix64). Not thread-safe.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, bound); bound must be > 0.
  uint64_t Uniform(uint64_t bound) { return Next() % bound; }
  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// A seed from the OS entropy pool, for production use of Rng.
uint64_t RandomSeed();

}  // namespace tidegate
