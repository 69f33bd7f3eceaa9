// SPDX-License-Identifier: Apache-2.0
#include "agent/service_notifier.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <system_error>

namespace tidegate::agent {

ServiceNotifier::ServiceNotifier() {
  enabled_ = std::getenv("NOTIFY_SOCKET") != nullptr;  // NOLINT(concurrency-mt-unsafe)
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0) {
    watchdog_interval_ = std::max(Millis(1), Millis(static_cast<int64_t>(usec / 1000)));
  }
}

void ServiceNotifier::ExtendTimeout(Millis extra) {
  Send("EXTEND_TIMEOUT_USEC=" + std::to_string(extra.count() * 1000));
}

void ServiceNotifier::Send(const std::string& message) {
  if (!enabled_) return;
  const int rc = sd_notify(/*unset_environment=*/0, message.c_str());
  if (rc > 0 || send_failed_) return;
  send_failed_ = true;
  spdlog::warn("systemd: cannot notify the service manager at NOTIFY_SOCKET: {}",
               rc < 0 ? std::error_code(-rc, std::generic_category()).message()
                      : std::string("socket not set"));
}

}  // namespace tidegate::agent
