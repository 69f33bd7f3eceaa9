// SPDX-License-Identifier: Apache-2.0
// Window assignment for `aggregate[].window`: which [start, start + size) windows an event
// time falls into. Tumbling windows are hopping windows with slide == size. Starts are
// multiples of slide counted from the Unix epoch (floor division, so negative times work);
// windows that would not fit in int64 milliseconds are left out instead of overflowing.
#pragma once

#include <cstdint>
#include <vector>

namespace tidegate::filters {

// floor(a / b) for b > 0, correct for negative a.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

class WindowAssigner {
 public:
  // size and slide in ms, both > 0 and slide <= size (the config loader checks this).
  WindowAssigner(int64_t size_ms, int64_t slide_ms) : size_(size_ms), slide_(slide_ms) {}

  int64_t size() const { return size_; }
  // Appends the starts of every window containing t to *starts (cleared first), newest
  // first: ceil(size / slide) windows, fewer at the edges of the int64 range.
  void Assign(int64_t t, std::vector<int64_t>* starts) const;

 private:
  int64_t size_;
  int64_t slide_;
};

}  // namespace tidegate::filters
