// SPDX-License-Identifier: Apache-2.0
// WaitUntil: the one way integration tests wait for something a real process does. Polls a
// predicate instead of sleeping a fixed time, so tests are fast when things work and only
// slow (up to the timeout) when they do not. Runs the predicate on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace tidegate::testing {

// Calls `pred` every `poll` until it returns true (→ true) or `timeout` has passed
// (→ false, after one last call). `pred` is always called at least once.
inline bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace tidegate::testing
