// SPDX-License-Identifier: Apache-2.0
// ServiceNotifier: the agent's side of systemd's notify protocol (sd_notify(3)), for a
// Type=notify unit with WatchdogSec: READY=1, STATUS=, WATCHDOG=1, EXTEND_TIMEOUT_USEC= and
// STOPPING=1. Only a thin wrapper over libsystemd; when to say what is ServiceMonitor's.
// Outside systemd (no NOTIFY_SOCKET) every call does nothing. Used from one thread.
#pragma once

#include <string>
#include <string_view>

#include "common/config.h"

namespace tidegate::agent {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC (sd_watchdog_enabled) once.
  ServiceNotifier();

  bool enabled() const { return enabled_; }
  // WATCHDOG_USEC: systemd restarts the service if no WATCHDOG=1 comes for this long.
  // 0 when the service manager asked for no watchdog.
  Millis watchdog_interval() const { return watchdog_interval_; }

  void Ready(std::string_view status) { Send("READY=1\nSTATUS=" + std::string(status)); }
  void Status(std::string_view status) { Send("STATUS=" + std::string(status)); }
  void Watchdog() { Send("WATCHDOG=1"); }
  // Tells systemd the start is still going and not to apply TimeoutStartSec for `extra`.
  void ExtendTimeout(Millis extra);
  void Stopping(std::string_view status) { Send("STOPPING=1\nSTATUS=" + std::string(status)); }

 private:
  // A failure is logged once; the agent runs on without the service manager's view.
  void Send(const std::string& message);

  bool enabled_ = false;
  Millis watchdog_interval_{0};
  bool send_failed_ = false;
};

}  // namespace tidegate::agent
