// SPDX-License-Identifier: Apache-2.0
// Reconnect policy shared by the MQTT source (agent/) and the MQTT uplink (uplink/): the
// delay between attempts (doubling to a cap, reset by a lasting connection), optional full
// jitter, and which failures of a long outage earn a log line. Plain values with no
// locking: each is used by one network thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace tidegate {

class ReconnectBackoff {
 public:
  ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}

  // The wait before the next attempt after a failure: initial, then doubled each call up
  // to max.
  std::chrono::milliseconds NextDelay();
  // NextDelay with jitter: uniform in [delay/2, delay], so that a fleet of gateways cut
  // off together does not reconnect in lockstep.
  std::chrono::milliseconds NextJitteredDelay(Rng& rng);
  // After a successful connection the next failure waits `initial` again.
  void Reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
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

}  // namespace tidegate
