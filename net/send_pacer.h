// SPDX-License-Identifier: Apache-2.0
// SendPacer: paces the bytes of one request body to a rate, in small pieces, so that a cap
// like uplink.max_bytes_per_second holds inside a request too and not only between them
// (libcurl's CURLOPT_MAX_SEND_SPEED did this before). The first piece leaves at once; each
// next one waits until the bytes before it fit the rate. Interrupt() wakes a waiting Take()
// from any thread and makes every later one fail: the owner is stopping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace tidegate::net {

class SendPacer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SendPacer(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // The size of the next piece to write, at most `remaining`: an eighth of a second's worth,
  // between 1 KiB and 16 KiB.
  size_t PieceBytes(size_t remaining) const;
  // Restarts the budget: a new request starts with no debt and no credit.
  void Start();
  // Waits until `bytes` more may leave, then counts them. False if interrupted, or if the
  // wait would pass `deadline` (it then returns at once).
  bool Take(size_t bytes, Clock::time_point deadline);
  void Interrupt();

 private:
  const uint64_t rate_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
  Clock::time_point next_{};  // when the next piece may leave
};

}  // namespace tidegate::net
