// SPDX-License-Identifier: Apache-2.0
// Small files the OpAMP client keeps in the agent's state_dir (its instance_uid and the
// status of the last remote config it processed): read bounded, written atomically.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::remote::opamp {

// Writes `bytes` to `path` atomically with mode 0600: a temp file in the same directory,
// fsync, rename over `path`, fsync of the directory. kIOError names the step that failed.
Status WriteStateFile(const std::string& path, std::string_view bytes);

// The file's bytes, nullopt if it does not exist, kCorruption if it is longer than
// `max_bytes`, kIOError if it cannot be read.
Result<std::optional<std::string>> ReadStateFile(const std::string& path, size_t max_bytes);

}  // namespace tidegate::remote::opamp
