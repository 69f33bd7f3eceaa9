// SPDX-License-Identifier: Apache-2.0
// Saturating arithmetic on int64 millisecond times and durations: where a configured
// duration is added to a time (deadlines, expiries, cutoffs), an extreme value clamps to
// INT64_MAX or INT64_MIN instead of overflowing (undefined behaviour). Pure, thread-safe.
#pragma once

#include <cstdint>
#include <limits>

namespace tidegate {

// a + b, clamped to [INT64_MIN, INT64_MAX].
constexpr int64_t SatAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

// a - b, clamped to [INT64_MIN, INT64_MAX].
constexpr int64_t SatSub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

}  // namespace tidegate
