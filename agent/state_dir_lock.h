// SPDX-License-Identifier: Apache-2.0
// StateDirLock: one agent per agent.state_dir. `tidegate run` takes an exclusive flock on
// state_dir/tidegate.lock (holding its pid) for as long as it runs; a second agent on the same
// directory is refused with the holder's pid instead of writing to the same buffer.db. The
// kernel drops the lock when the process ends, however it ends (kill -9 included), so a stale
// lock file never blocks a restart. Move-only; not shared between threads.
#pragma once

#include <string>

#include "common/status.h"

namespace tidegate::agent {

class StateDirLock {
 public:
  // Creates state_dir (mode 0700 whatever the umask) if it is missing and locks it. kUnavailable,
  // naming the directory and the holder's pid, when another process holds the lock; kIOError
  // otherwise.
  static Result<StateDirLock> Acquire(const std::string& state_dir);

  StateDirLock(StateDirLock&& other) noexcept;
  StateDirLock& operator=(StateDirLock&& other) noexcept;
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;
  ~StateDirLock();

 private:
  explicit StateDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tidegate::agent
