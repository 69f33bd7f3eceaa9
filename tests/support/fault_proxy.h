// SPDX-License-Identifier: Apache-2.0
// FaultProxy: a TCP proxy on 127.0.0.1 that sits between the agent and the collector and
// breaks the connection on demand, below TLS (it never sees plaintext): it can pass bytes,
// delay each chunk, stall (hold the bytes without forwarding), reset connections with RST
// mid-request, truncate the response (forward part of it, then close), or refuse new
// connections. The mode is read live for every chunk of every connection, so a kept-alive
// connection is hit as soon as the test switches modes. One accept thread plus one relay
// thread per connection (blocking sockets and poll); every method is thread-safe, and Stop()
// (or the destructor) closes every socket and joins every thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

enum class FaultMode {
  kPass,      // forward both ways
  kDelay,     // sleep `delay` before forwarding each chunk, either way
  kStall,     // accept and hold: nothing is forwarded either way until the mode changes
  kReset,     // the next request chunk is half forwarded, then both sides get an RST
  kTruncate,  // requests pass; the next response chunk is half forwarded, then both close
  kRefuse,    // new connections are reset at once; open ones as soon as bytes arrive
};

std::string_view FaultModeName(FaultMode mode);

struct FaultProxyStats {
  uint64_t connections = 0;       // accepted
  uint64_t bytes_upstream = 0;    // client -> target, as forwarded
  uint64_t bytes_downstream = 0;  // target -> client, as forwarded
  uint64_t resets = 0;            // connections ended with RST by kReset or kRefuse
  uint64_t truncations = 0;       // responses cut short by kTruncate
  uint64_t delayed_chunks = 0;
  uint64_t stalled_connections = 0;  // connections that saw at least one stall
  // Steady-clock times of the first and last byte forwarded upstream (epoch if none).
  std::chrono::steady_clock::time_point first_upstream{};
  std::chrono::steady_clock::time_point last_upstream{};
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1 on a free port, forwarding to 127.0.0.1:target_port (0: not known
  // yet; connections are refused until SetTarget). kIOError if no socket can be bound.
  static Result<std::unique_ptr<FaultProxy>> Start(int target_port = 0);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  void SetTarget(int target_port) { target_port_ = target_port; }
  void SetMode(FaultMode mode) { mode_ = mode; }
  FaultMode mode() const { return mode_; }
  // The per-chunk delay of kDelay (default 200 ms).
  void SetDelay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  FaultProxyStats stats() const;
  // Closes the listener and every connection and joins all threads. Idempotent.
  void Stop();

 private:
  explicit FaultProxy(int listen_fd, int port, int target_port);
  void AcceptLoop();
  void Relay(int client_fd);
  int ConnectTarget();
  // Forwards one chunk read from `from` to `to` under the current mode; false ends the
  // connection (closing/resetting is done here).
  bool Forward(int from, int to, bool upstream);
  void CountForwarded(bool upstream, size_t n);

  const int listen_fd_;
  const int port_;
  std::atomic<int> target_port_;
  std::atomic<FaultMode> mode_{FaultMode::kPass};
  std::atomic<int64_t> delay_ms_{200};
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  FaultProxyStats stats_;            // guarded by mu_
  std::vector<std::thread> relays_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace tidegate::testing
