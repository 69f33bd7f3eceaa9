// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/simulation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>

namespace tidegate::sim {
namespace {

using std::chrono::duration;
using std::chrono::milliseconds;

// Events generated per loop turn at most, so that the stop flag, the offline window and
// progress are looked at often even when running flat out or catching up.
constexpr uint64_t kMaxBurst = 512;
// Sleeps are at least one tick (bursts instead of a sleep per message at high rates) and at
// most kMaxSleep (so a signal or the end of the offline window is noticed quickly).
constexpr milliseconds kTick{1};
constexpr milliseconds kMaxSleep{100};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<duration<double>>(d).count();
}

}  // namespace

Simulation::Simulation(SimulationOptions options, EventGenerator& generator, Publisher& publisher,
                       Clock& clock)
    : options_(std::move(options)), generator_(generator), publisher_(publisher), clock_(clock) {}

uint64_t Simulation::DueBy(TimePoint now) const {
  const uint64_t limit = options_.count.value_or(std::numeric_limits<uint64_t>::max());
  if (options_.rate <= 0) return limit;
  auto elapsed = now - start_;
  if (options_.duration) elapsed = std::min<decltype(elapsed)>(elapsed, *options_.duration);
  // The schedule is absolute (event i is due at start + i/rate), so rounding and late
  // wake-ups never accumulate into a lower rate.
  const double due = std::floor(Seconds(elapsed) * options_.rate);
  if (due >= static_cast<double>(limit)) return limit;
  return static_cast<uint64_t>(due);
}

bool Simulation::Finished() const {
  if (options_.stop != nullptr && options_.stop->load()) return true;
  return options_.count && stats_.generated >= *options_.count;
}

bool Simulation::Offline(uint32_t device, TimePoint now) const {
  if (!options_.offline_device || *options_.offline_device != device) return false;
  const TimePoint from = start_ + options_.offline_at;
  return now >= from && now < from + options_.offline_for;
}

Status Simulation::PublishEvent(const SimEvent& event) {
  const std::string_view broken = BreakageName(event.broken);
  TG_RETURN_IF_ERROR(publisher_.Publish(event.topic, event.payload, /*duplicate=*/false, broken));
  ++stats_.events;
  if (event.late) ++stats_.late;
  if (event.duplicate) {
    // Right behind the original, as a device that missed its PUBACK would resend it.
    TG_RETURN_IF_ERROR(publisher_.Publish(event.topic, event.payload, /*duplicate=*/true, broken));
    ++stats_.duplicates;
  }
  return Status::Ok();
}

Status Simulation::EmitNext(TimePoint now) {
  SimEvent event = generator_.Next();
  ++stats_.generated;
  if (Offline(event.device, now)) {
    held_.push_back(std::move(event));
    return Status::Ok();
  }
  return PublishEvent(event);
}

Status Simulation::ReleaseHeld() {
  if (held_.empty()) return Status::Ok();
  if (options_.progress) {
    options_.progress(fmt::format("tidegate-sim: {} back online, publishing {} held events",
                                  DeviceId(held_.front().device), held_.size()));
  }
  std::vector<SimEvent> held = std::move(held_);
  held_.clear();
  for (const SimEvent& event : held) {
    TG_RETURN_IF_ERROR(PublishEvent(event));
    ++stats_.held;
  }
  return Status::Ok();
}

std::string Simulation::ProgressLine(bool final) const {
  const PublisherCounters counters = publisher_.counters();
  double rate = last_rate_;
  if (final) {
    const double elapsed = Seconds(clock_.Monotonic() - start_);
    rate = elapsed > 0 ? static_cast<double>(stats_.events) / elapsed : 0;
  }
  return fmt::format("tidegate-sim: published {} (dups {}, late {}) acked {} rate {:.0f}/s",
                     stats_.events, stats_.duplicates, stats_.late, counters.confirmed, rate);
}

void Simulation::MaybeReportProgress(TimePoint now) {
  if (now - last_report_ < options_.progress_interval) return;
  const double elapsed = Seconds(now - last_report_);
  last_rate_ = static_cast<double>(stats_.events - events_at_last_report_) / elapsed;
  last_report_ = now;
  events_at_last_report_ = stats_.events;
  if (options_.progress) options_.progress(ProgressLine(/*final=*/false));
}

void Simulation::Pace() {
  if (options_.rate <= 0) return;
  const TimePoint now = clock_.Monotonic();
  const auto next_due =
      start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   duration<double>(static_cast<double>(stats_.generated + 1) / options_.rate));
  if (next_due <= now) return;  // behind schedule: catch up in the next burst
  std::this_thread::sleep_for(
      std::clamp<std::chrono::steady_clock::duration>(next_due - now, kTick, kMaxSleep));
}

Status Simulation::Run() {
  start_ = clock_.Monotonic();
  last_report_ = start_;
  for (;;) {
    const TimePoint now = clock_.Monotonic();
    if (Finished()) break;
    const bool past_deadline = options_.duration && now - start_ >= *options_.duration;
    if (past_deadline && options_.rate <= 0) break;
    // Held events go out before the device's new ones, as a device syncing its backlog.
    if (!held_.empty() && !Offline(held_.front().device, now)) {
      TG_RETURN_IF_ERROR(ReleaseHeld());
    }
    const uint64_t due = DueBy(now);
    for (uint64_t n = 0; n < kMaxBurst && stats_.generated < due; ++n) {
      TG_RETURN_IF_ERROR(EmitNext(now));
    }
    // One last burst emits what fell due by the deadline (5000/s for 4s is 20000 events);
    // a run that fell further behind stops anyway rather than overrun its duration.
    if (past_deadline) break;
    MaybeReportProgress(now);
    Pace();
  }
  return ReleaseHeld();
}

}  // namespace tidegate::sim
