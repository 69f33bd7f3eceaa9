// SPDX-License-Identifier: Apache-2.0
#include "net/send_pacer.h"

#include <algorithm>

namespace tidegate::net {

size_t SendPacer::PieceBytes(size_t remaining) const {
  constexpr uint64_t kMin = 1024;
  constexpr uint64_t kMax = uint64_t{16} * 1024;
  const uint64_t piece = std::clamp<uint64_t>(rate_ / 8, kMin, kMax);
  return static_cast<size_t>(std::min<uint64_t>(piece, remaining));
}

void SendPacer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  next_ = Clock::now();
}

bool SendPacer::Take(size_t bytes, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_ > deadline) return false;
  cv_.wait_until(lock, next_, [&] { return interrupted_ || Clock::now() >= next_; });
  if (interrupted_) return false;
  const auto cost = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
  next_ = std::max(next_, Clock::now()) + cost;  // a late writer earns no credit
  return true;
}

void SendPacer::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

}  // namespace tidegate::net
