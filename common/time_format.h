// SPDX-License-Identifier: Apache-2.0
// RFC 3339 timestamps: formatting in UTC with milliseconds (the landing format) and parsing
// of event times. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate {

// "2026-11-24T14:30:00.123Z". Works for any ms value of years 0000-9999.
std::string FormatRfc3339Ms(int64_t unix_ms);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t', ' ' and 'z' accepted) into
// milliseconds since the epoch; digits beyond milliseconds are truncated.
Result<int64_t> ParseRfc3339Ms(std::string_view text);

}  // namespace tidegate
