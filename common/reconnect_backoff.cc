// SPDX-License-Identifier: Apache-2.0
#include "common/reconnect_backoff.h"

#include <algorithm>

namespace tidegate {

std::chrono::milliseconds ReconnectBackoff::NextDelay() {
  std::chrono::milliseconds delay = next_;
  next_ = std::min(next_ * 2, max_);
  return delay;
}

std::chrono::milliseconds ReconnectBackoff::NextJitteredDelay(Rng& rng) {
  const int64_t delay = NextDelay().count();
  const int64_t half = delay / 2;
  return std::chrono::milliseconds(
      half + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(delay - half) + 1)));
}

bool FailureLogLimiter::ShouldLog(std::string_view reason, uint64_t attempt) {
  bool log = attempt <= 1 || reason != last_logged_ || (every_ > 0 && attempt % every_ == 0);
  if (log) last_logged_ = reason;
  return log;
}

}  // namespace tidegate
