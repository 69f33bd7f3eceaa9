// SPDX-License-Identifier: Apache-2.0
// The MQTT source's reconnect policy, apart from libmosquitto so it can be unit tested: the
// delay between attempts (1 s doubling to 30 s, reset by a connection), which failures of a
// long outage earn a log line, and the hint for the usual TLS misconfigurations. Plain
// values with no locking: used by the MQTT network thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidegate::agent {

class ReconnectBackoff {
 public:
  ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}

  // The wait before the next attempt after a failure: initial, then doubled each call up
  // to max.
  std::chrono::milliseconds NextDelay();
  // After a successful connection the next failure waits `initial` again.
  void Reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

// Why an attempt failed, as far as it matters to the operator.
enum class ConnectFailureKind {
  kNetwork,              // no TCP connection (refused, unreachable, name not resolved)
  kClosedBeforeConnack,  // connected, then closed or garbled before the broker's CONNACK
  kTls,                  // the TLS handshake failed (certificate, protocol)
  kRefusedByBroker,      // CONNACK with a refusal reason (credentials, client id)
  kTimeout,              // no CONNACK within the connect timeout
};

// Logs the first failure of an outage, each failure whose reason differs from the last
// logged one, and every `every`-th attempt, so a broker down for a day costs a few lines.
class FailureLogLimiter {
 public:
  explicit FailureLogLimiter(uint64_t every) : every_(every) {}

  // attempt: 1 for the first failure since the last connection.
  bool ShouldLog(std::string_view reason, uint64_t attempt);
  void Reset() { last_logged_.clear(); }

 private:
  uint64_t every_;
  std::string last_logged_;
};

// What to check for this kind of failure, or "" when the reason says it all. tls_configured:
// source.mqtt.tls is set.
std::string_view ConnectHint(ConnectFailureKind kind, bool tls_configured);

}  // namespace tidegate::agent
