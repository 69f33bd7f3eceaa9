// SPDX-License-Identifier: Apache-2.0
#include "filters/window_assigner.h"

#include <limits>

namespace tidegate::filters {
namespace {

// 128-bit arithmetic, so window bounds near the ends of the int64 range cannot overflow.
__extension__ using Wide = __int128;

Wide WideFloorDiv(Wide a, Wide b) {
  Wide q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace

void WindowAssigner::Assign(int64_t t, std::vector<int64_t>* starts) const {
  starts->clear();
  constexpr Wide kMax = std::numeric_limits<int64_t>::max();
  constexpr Wide kMin = std::numeric_limits<int64_t>::min();
  // Windows [s, s + size) with s a multiple of slide and t - size < s <= t, newest first.
  for (Wide s = WideFloorDiv(t, slide_) * slide_; s > Wide{t} - size_; s -= slide_) {
    if (s < kMin) break;
    if (s + size_ <= kMax) starts->push_back(static_cast<int64_t>(s));
  }
}

}  // namespace tidegate::filters
