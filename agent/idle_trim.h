// SPDX-License-Identifier: Apache-2.0
// IdleTrim: gives the heap pages freed after a burst back to the kernel once the agent goes
// quiet. glibc keeps freed memory in its per-thread arenas for reuse, so after a backlog or a
// burst the agent's RSS stays near its peak while idle (about 5.6 MB of 50 MB after 300,000
// events in the benchmark); malloc_trim(0) returns the free pages. It runs once per quiet
// spell: the first turn on which nothing moved since the last one, never during traffic.
#pragma once

#include <cstdint>
#include <functional>

namespace tidegate::agent {

class IdleTrim {
 public:
  // trim: what gives memory back (malloc_trim(0) by default; tests count calls).
  explicit IdleTrim(std::function<void()> trim = {});

  // One turn of the main loop: activity is any count that moves while the agent works
  // (messages received plus batches sent).
  void Turn(uint64_t activity);

 private:
  std::function<void()> trim_;
  bool seen_ = false;
  uint64_t last_ = 0;
  bool trimmed_ = false;  // this quiet spell was trimmed already
};

}  // namespace tidegate::agent
