// SPDX-License-Identifier: Apache-2.0
// The simulator's main loop: paces the EventGenerator to a rate against the monotonic
// clock (in bursts per millisecond tick, not a sleep per message), holds back the events of
// an "offline" device and releases them at once when it comes back, publishes through a
// Publisher and reports progress. Runs entirely on the calling thread; the generator,
// publisher and clock must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "tools/sim/event_generator.h"
#include "tools/sim/publisher.h"

namespace tidegate::sim {

struct SimulationOptions {
  double rate = 1000;             // events per second (duplicates come on top); 0 = no pacing
  std::optional<uint64_t> count;  // stop after this many events (duplicates not counted)
  std::optional<std::chrono::milliseconds> duration;  // stop after this long
  // The device (0-based) that goes offline: from offline_at after the start, for
  // offline_for, its events are held back, then all published at once with their original
  // event times. Held events are also released when the run ends early.
  std::optional<uint32_t> offline_device;
  std::chrono::milliseconds offline_at{std::chrono::seconds(5)};
  std::chrono::milliseconds offline_for{std::chrono::seconds(10)};
  std::chrono::milliseconds progress_interval{std::chrono::seconds(5)};
  // Receives each progress line (without newline); nullptr for none.
  std::function<void(const std::string&)> progress;
  // Raised (by a signal handler) to end the run; optional, must outlive the simulation.
  const std::atomic<bool>* stop = nullptr;
};

struct SimulationStats {
  uint64_t generated = 0;   // events generated, including those still held back
  uint64_t events = 0;      // events published (their first copy)
  uint64_t duplicates = 0;  // extra, identical copies published
  uint64_t late = 0;        // published events stamped --late-by in the past
  uint64_t held = 0;        // events the offline device held back and later released
};

class Simulation {
 public:
  Simulation(SimulationOptions options, EventGenerator& generator, Publisher& publisher,
             Clock& clock);

  // Runs until the count, the duration or the stop flag, then releases anything the
  // offline device still holds. Returns the first error from the publisher; stats() then
  // tells what was published before it.
  Status Run();

  const SimulationStats& stats() const { return stats_; }

  // "tidegate-sim: published N (dups D, late L) acked A rate R/s", R over the last interval
  // (or over the whole run when final).
  std::string ProgressLine(bool final) const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  uint64_t DueBy(TimePoint now) const;
  bool Finished() const;
  bool Offline(uint32_t device, TimePoint now) const;
  Status EmitNext(TimePoint now);
  Status PublishEvent(const SimEvent& event);
  Status ReleaseHeld();
  void MaybeReportProgress(TimePoint now);
  void Pace();

  const SimulationOptions options_;
  EventGenerator& generator_;
  Publisher& publisher_;
  Clock& clock_;
  SimulationStats stats_;
  std::vector<SimEvent> held_;  // the offline device's events, in generation order
  TimePoint start_{};
  TimePoint last_report_{};
  uint64_t events_at_last_report_ = 0;
  double last_rate_ = 0;
};

}  // namespace tidegate::sim
