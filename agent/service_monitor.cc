// SPDX-License-Identifier: Apache-2.0
#include "agent/service_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/health.h"
#include "agent/watchdog_check.h"

namespace tidegate::agent {
namespace {

// How soon READY=1 follows the SUBACK, and how soon a change of state shows.
constexpr Millis kTickStarting{250};
constexpr Millis kTickRunning{1'000};
// Without a service manager to tell, the caller just waits for its signal.
constexpr Millis kTickDisabled{60'000};

}  // namespace

ServiceMonitor::ServiceMonitor(ServiceNotifier& notifier, MonitoredParts parts,
                               const Config& config, Clock& clock)
    : notifier_(notifier),
      parts_(parts),
      clock_(clock),
      broker_(config.mqtt.host + ":" + std::to_string(config.mqtt.port)),
      stall_threshold_(
          StallThreshold(notifier.watchdog_interval(), config.buffer.commit_interval)) {
  if (notifier_.watchdog_interval().count() > 0) {
    spdlog::info("systemd: watchdog every {} ms; pings stop once a thread is stalled for {} s",
                 notifier_.watchdog_interval().count() / 2, stall_threshold_.count() / 1000);
  }
}

ServiceSnapshot ServiceMonitor::Snapshot(std::optional<std::string> stalled) const {
  ServiceSnapshot snapshot;
  snapshot.ready = ready_;
  snapshot.subscribed = parts_.source.subscribed();
  snapshot.broker = broker_;
  snapshot.mqtt_reason = parts_.source.not_connected_reason();
  snapshot.stalled = std::move(stalled);
  if (Result<buffer::StoreStats> stats = parts_.store.Stats(); stats.ok()) {
    snapshot.backlog_records = stats->records;
    snapshot.backlog_bytes = stats->db_bytes + stats->wal_bytes;
  }
  const UplinkHealth uplink = ReadUplinkHealth(parts_.uplink.stats(), clock_);
  snapshot.uplink_failing_for_ms = uplink.failing_for_ms;
  snapshot.uplink_failures = uplink.failures;
  snapshot.uplink_mqtt_connected = parts_.uplink.stats().connected.load();
  snapshot.uplink_inflight = parts_.uplink.stats().inflight.load();
  return snapshot;
}

void ServiceMonitor::NoteStall(const std::optional<std::string>& stalled) {
  if (stalled.has_value() == stalled_) return;
  stalled_ = stalled.has_value();
  if (stalled_) {
    spdlog::error("watchdog: withholding WATCHDOG=1, systemd will restart the agent: {}", *stalled);
  } else {
    spdlog::info("watchdog: every thread makes progress again, pings resume");
  }
}

void ServiceMonitor::SendStatus(const ServiceSnapshot& snapshot,
                                std::chrono::steady_clock::time_point now) {
  notifier_.Status(FormatStatus(snapshot));
  last_state_ = StatusStateKey(snapshot);
  next_status_ = now + kStatusEvery;
  if (!ready_ && !snapshot.stalled) notifier_.ExtendTimeout(kExtendStartBy);
}

Millis ServiceMonitor::Tick() {
  if (!notifier_.enabled()) return kTickDisabled;
  const auto now = clock_.Monotonic();
  const ThreadProgress progress{.ingest = parts_.source.last_progress(),
                                .ingest_held_by_buffer = parts_.committer.producer_waiting(),
                                .writer = parts_.committer.last_progress(),
                                .uplink = parts_.uplink.last_progress()};
  std::optional<std::string> stalled = FindStalledThreads(progress, now, stall_threshold_);
  NoteStall(stalled);
  const bool alive = !stalled.has_value();
  const bool becomes_ready = !ready_ && parts_.source.subscribed();
  ready_ = ready_ || becomes_ready;
  const ServiceSnapshot snapshot = Snapshot(std::move(stalled));
  if (becomes_ready) {
    notifier_.Ready(FormatStatus(snapshot));
    last_state_ = StatusStateKey(snapshot);
    next_status_ = now + kStatusEvery;
    spdlog::info("systemd: READY=1 (buffer open, metrics listening, subscriptions acknowledged)");
  } else if (now >= next_status_ || StatusStateKey(snapshot) != last_state_) {
    SendStatus(snapshot, now);
  }
  const Millis interval = notifier_.watchdog_interval();
  Millis wait = ready_ ? kTickRunning : kTickStarting;
  if (interval.count() == 0) return wait;
  if (now >= next_ping_) {
    if (alive) notifier_.Watchdog();
    next_ping_ = now + interval / 2;
  }
  return std::clamp(std::chrono::ceil<Millis>(next_ping_ - now), Millis(1), wait);
}

void ServiceMonitor::Stopping() {
  notifier_.Stopping("stopping: committing the buffer and closing the uplink");
}

}  // namespace tidegate::agent
