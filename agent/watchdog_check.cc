// SPDX-License-Identifier: Apache-2.0
#include "agent/watchdog_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "agent/health.h"

namespace tidegate::agent {
namespace {

void AddIfStalled(std::string_view thread, std::chrono::steady_clock::time_point last,
                  std::chrono::steady_clock::time_point now, Millis threshold, std::string* out) {
  const std::optional<Millis> stalled = StalledFor(last, now, threshold);
  if (!stalled) return;
  if (!out->empty()) *out += "; ";
  *out += fmt::format("{} stalled for {} s", thread, stalled->count() / 1000);
}

}  // namespace

Millis StallThreshold(Millis watchdog_interval, Millis commit_interval) {
  return std::max(watchdog_interval, kMinStallThreshold + commit_interval);
}

std::optional<std::string> FindStalledThreads(const ThreadProgress& progress,
                                              std::chrono::steady_clock::time_point now,
                                              Millis threshold) {
  std::string stalled;
  if (!progress.ingest_held_by_buffer) {
    AddIfStalled("ingest", progress.ingest, now, threshold, &stalled);
  }
  AddIfStalled("buffer writer", progress.writer, now, threshold, &stalled);
  AddIfStalled("uplink", progress.uplink, now, threshold, &stalled);
  if (stalled.empty()) return std::nullopt;
  return stalled;
}

}  // namespace tidegate::agent
