// SPDX-License-Identifier: Apache-2.0
// LEB128 varints (7 bits a byte, low group first) for compact encodings: checkpoints of the
// aggregator's sketches and the counter of a sealed value. GetVarint reads untrusted bytes:
// it refuses overlong encodings and values past 64 bits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tidegate {

inline void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a minimal LEB128 varint of at most 64 bits from the front of *in.
inline bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // more than 64 bits
    if (shift > 0 && byte == 0) return false;   // overlong: a trailing zero group
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace tidegate
