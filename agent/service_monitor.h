// SPDX-License-Identifier: Apache-2.0
// ServiceMonitor: decides what the running agent tells systemd, and when. READY=1 once, when
// the broker has acknowledged our subscriptions (the buffer is open and the metrics listener
// bound before the monitor exists); WATCHDOG=1 every half WATCHDOG_USEC while no watched
// thread is stalled (agent/watchdog_check.h); STATUS= on every change of state and every few
// seconds; STOPPING=1 at a stop signal. While it waits for the broker with every thread
// alive, it extends systemd's start timeout: a broker that is down is not cured by killing
// and restarting the agent, and a restart loop would end in systemd's start limit. Runs on
// RunAgent's thread, between waits for a stop signal; the parts must outlive it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "agent/mqtt_source.h"
#include "agent/service_notifier.h"
#include "agent/service_status.h"
#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "common/config.h"
#include "uplink/uplink_worker.h"

namespace tidegate::agent {

struct MonitoredParts {
  const MqttSource& source;
  const buffer::GroupCommitter& committer;
  const uplink::UplinkWorker& uplink;
  buffer::SqliteStore& store;
};

class ServiceMonitor {
 public:
  // How often STATUS= is repeated when nothing but the numbers changed.
  static constexpr Millis kStatusEvery{5'000};
  // Each extension of the start timeout; renewed every kStatusEvery.
  static constexpr Millis kExtendStartBy{3 * kStatusEvery};

  ServiceMonitor(ServiceNotifier& notifier, MonitoredParts parts, const Config& config,
                 Clock& clock);

  // Sends what is due now. Returns how long the caller may wait before the next call.
  Millis Tick();
  // STOPPING=1; call when a stop signal arrives, before the shutdown begins.
  void Stopping();

 private:
  ServiceSnapshot Snapshot(std::optional<std::string> stalled) const;
  // Logs when a stall begins and ends (the pings stop and resume then).
  void NoteStall(const std::optional<std::string>& stalled);
  void SendStatus(const ServiceSnapshot& snapshot, std::chrono::steady_clock::time_point now);

  ServiceNotifier& notifier_;
  MonitoredParts parts_;
  Clock& clock_;
  const std::string broker_;  // HOST:PORT
  const Millis stall_threshold_;
  bool ready_ = false;
  bool stalled_ = false;
  std::string last_state_;  // StatusStateKey of the last STATUS= sent
  std::chrono::steady_clock::time_point next_status_{};
  std::chrono::steady_clock::time_point next_ping_{};
};

}  // namespace tidegate::agent
