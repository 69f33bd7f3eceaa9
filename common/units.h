// SPDX-License-Identifier: Apache-2.0
// Parsing of the human units used in config: durations ("50ms", "30s", "5m", "2h", "1d",
// also "1h30m") and byte sizes ("512", "64KiB", "256MiB", "1GB"). Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate {

// Returns the duration, or kInvalidArgument naming what was wrong. "0" alone means zero.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Returns the size in bytes. Binary (KiB, MiB, GiB) and decimal (KB, MB, GB) suffixes;
// a bare number is bytes. Overflow is an error.
Result<uint64_t> ParseSize(std::string_view text);

// Text ParseDuration reads back as d, in the largest unit that divides it exactly: "0",
// "250ms", "1m", "365d", "65535s", "60001ms". REQUIRES: d >= 0.
std::string FormatDuration(std::chrono::milliseconds d);

// The text ParseSize reads back as bytes: the largest binary unit that divides it exactly
// ("1MiB", "16KiB"), else plain bytes ("1048577").
std::string FormatSize(uint64_t bytes);

}  // namespace tidegate
