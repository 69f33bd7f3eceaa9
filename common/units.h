// SPDX-License-Identifier: Apache-2.0
// Parsing of the human units used in config: durations ("50ms", "30s", "5m", "2h", "1d",
// also "1h30m") and byte sizes ("512", "64KiB", "256MiB", "1GB"). Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace tidegate {

// Returns the duration, or kInvalidArgument naming what was wrong. "0" alone means zero.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Returns the size in bytes. Binary (KiB, MiB, GiB) and decimal (KB, MB, GB) suffixes;
// a bare number is bytes. Overflow is an error.
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace tidegate
