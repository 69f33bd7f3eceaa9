// SPDX-License-Identifier: Apache-2.0
// The systemd watchdog's verdict: WATCHDOG=1 is sent only while the ingest thread, the buffer
// writer and the uplink each go round their loops. Each beats a heartbeat also while it waits
// (a broker that is down, a receiver that is down and the uplink's backoff, an idle buffer),
// so only a thread that is stuck falls behind. Pure: the caller reads the heartbeats and the
// clock. Called on RunAgent's thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/config.h"

namespace tidegate::agent {

// The stall threshold never goes below this: the writer's slowest healthy turn (its 2 s
// commit retry, a slow checkpoint on an SD card) and a blocking DNS lookup of the broker's
// host must fit, with room for a loaded machine, also under a short WatchdogSec.
inline constexpr Millis kMinStallThreshold{10'000};

// How long a thread may go without a beat before the pings stop: WATCHDOG_USEC (a stall is
// then seen within one watchdog interval, and systemd acts one interval later), at least
// kMinStallThreshold plus buffer.commit_interval (the writer waits that long, unbeaten, for a
// group to gather). The uplink's sends need no room here: a send beats ahead for its own
// timeout (see UplinkWorker::last_progress).
Millis StallThreshold(Millis watchdog_interval, Millis commit_interval);

// The last beat of each watched thread, read at one instant.
struct ThreadProgress {
  std::chrono::steady_clock::time_point ingest;
  // The ingest thread waits inside the buffer's Add (staging area or store full): held by
  // backpressure, it is as alive as the writer.
  bool ingest_held_by_buffer = false;
  std::chrono::steady_clock::time_point writer;
  std::chrono::steady_clock::time_point uplink;
};

// nullopt while every thread shows progress; otherwise which ones are stalled and for how
// long ("buffer writer stalled for 12 s; uplink stalled for 11 s").
std::optional<std::string> FindStalledThreads(const ThreadProgress& progress,
                                              std::chrono::steady_clock::time_point now,
                                              Millis threshold);

}  // namespace tidegate::agent
