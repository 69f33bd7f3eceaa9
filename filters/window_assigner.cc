// SPDX-License-Identifier: Apache-2.0
#include "filters/window_assigner.h"

namespace tidegate::filters {

// Checked int64 arithmetic (GCC and clang builtins), so window bounds near the ends of the
// int64 range cannot overflow. Not __int128: 32-bit targets such as armhf do not have it.
void WindowAssigner::Assign(int64_t t, std::vector<int64_t>* starts) const {
  starts->clear();
  // The newest start, floor(t / slide) * slide; below INT64_MIN, no window fits.
  int64_t s = 0;
  if (__builtin_mul_overflow(FloorDiv(t, slide_), slide_, &s)) return;
  // Windows [s, s + size) with s a multiple of slide and t - size < s <= t, newest first.
  // t - size below INT64_MIN: every start down to INT64_MIN qualifies.
  int64_t after = 0;
  const bool no_lower_bound = __builtin_sub_overflow(t, size_, &after);
  while (no_lower_bound || s > after) {
    int64_t end = 0;
    if (!__builtin_add_overflow(s, size_, &end)) starts->push_back(s);
    if (__builtin_sub_overflow(s, slide_, &s)) break;
  }
}

}  // namespace tidegate::filters
