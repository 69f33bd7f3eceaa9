// SPDX-License-Identifier: Apache-2.0
// NotifyListener: the service manager's end of systemd's notify protocol, for tests that
// start the agent with NOTIFY_SOCKET pointing here. Binds a unix datagram socket at a path;
// its own thread records every datagram (READY=1, STATUS=..., WATCHDOG=1, ...) with the time
// it arrived, so the agent never blocks on a full socket. Accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

struct NotifyMessage {
  std::chrono::steady_clock::time_point at;
  std::string text;  // one datagram: lines of KEY=VALUE
  // The value of KEY in this message ("1" for READY=1), or nullopt.
  std::optional<std::string> Value(std::string_view key) const;
};

class NotifyListener {
 public:
  // Binds `path` (at most 107 bytes, an absolute path) and starts the receiving thread.
  static Result<std::unique_ptr<NotifyListener>> Bind(const std::string& path);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  const std::string& path() const { return path_; }
  // Every message received so far, in arrival order.
  std::vector<NotifyMessage> Messages() const;
  // The messages that carry KEY (e.g. "WATCHDOG", "STATUS").
  std::vector<NotifyMessage> With(std::string_view key) const;

 private:
  NotifyListener(std::string path, int fd);
  void Receive();

  const std::string path_;
  const int fd_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<NotifyMessage> messages_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace tidegate::testing
