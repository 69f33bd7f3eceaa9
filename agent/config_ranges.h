// SPDX-License-Identifier: Apache-2.0
// The allowed range of every number in the config (durations, sizes, integers): one table,
// the only place a range is written. MapReader looks each key up by its dotted path, the
// tests walk the table (each key at its maximum and one past it) and check that
// configs/tidegate.yaml documents each range. Constant data; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tidegate::agent {

enum class ValueKind { kDuration, kSize, kInteger };

struct KeyRange {
  std::string_view path;  // dotted key path, list indexes written "[]": "aggregate[].window"
  ValueKind kind;
  int64_t min;  // milliseconds, bytes or the integer itself
  int64_t max;
  bool zero_is_off = false;  // 0 is also allowed (it turns the feature off), below min
};

std::span<const KeyRange> AllKeyRanges();

// The range of a key path as MapReader builds it ("aggregate[2].window.tumbling"), or null
// if the table lacks it.
const KeyRange* FindKeyRange(std::string_view path);

// True if value is allowed.
bool InRange(const KeyRange& range, int64_t value);

// "0..1m", "1KiB..8MiB", "0 or 1KiB..1GiB", "1..65535": in the units the key is written in.
std::string RangeText(const KeyRange& range);

}  // namespace tidegate::agent
