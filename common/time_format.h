// SPDX-License-Identifier: Apache-2.0
// RFC 3339 timestamps: formatting in UTC with milliseconds (the landing format) and parsing
// of event times. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate {

// The times RFC 3339 can write (four-digit years): 0000-01-01T00:00:00.000Z to
// 9999-12-31T23:59:59.999Z, in ms since the epoch. The agent dead-letters event times
// outside this range at ingest (event_time_out_of_range).
inline constexpr int64_t kMinRfc3339Ms = -62'167'219'200'000;
inline constexpr int64_t kMaxRfc3339Ms = 253'402'300'799'999;

constexpr bool InRfc3339Range(int64_t unix_ms) {
  return unix_ms >= kMinRfc3339Ms && unix_ms <= kMaxRfc3339Ms;
}

// "2026-11-24T14:30:00.123Z". A time outside [kMinRfc3339Ms, kMaxRfc3339Ms] is clamped to
// the nearer end, so the result is always valid RFC 3339 (the agent never sends such a
// time; a receiver must not print a five-digit or negative year for one it is sent).
std::string FormatRfc3339Ms(int64_t unix_ms);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t', ' ' and 'z' accepted) into
// milliseconds since the epoch; digits beyond milliseconds are truncated.
Result<int64_t> ParseRfc3339Ms(std::string_view text);

}  // namespace tidegate
