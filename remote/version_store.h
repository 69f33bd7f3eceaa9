// SPDX-License-Identifier: Apache-2.0
// The highest bundle version this agent ever accepted, kept in state_dir/remote_config.version
// (one decimal line, replaced atomically and fsynced) so that a restart does not let an old
// bundle be replayed. Not thread-safe: the agent's config applier owns the one instance.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace tidegate::remote {

class VersionStore {
 public:
  // Reads state_dir/remote_config.version: 0 when there is none. kCorruption if the file
  // does not hold one decimal version from 1 to 2^53 (it is never guessed around: every
  // bundle is refused until an operator looks), kIOError if it cannot be read.
  static Result<VersionStore> Open(const std::string& state_dir);

  int64_t highest() const { return highest_; }

  // Persists version as the highest accepted. REQUIRES: version > highest().
  Status Record(int64_t version);

  const std::string& path() const { return path_; }

 private:
  VersionStore(std::string path, int64_t highest) : path_(std::move(path)), highest_(highest) {}

  std::string path_;
  int64_t highest_;
};

}  // namespace tidegate::remote
