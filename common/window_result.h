// SPDX-License-Identifier: Apache-2.0
// WindowResult: one emitted result of an `aggregate[]` window, and its binary form as the
// payload of a buffered record of kind kWindowResult. The aggregator (filters/) writes it,
// the batch encoder (uplink/) turns it into a tidegate.wire.WindowResult. Keyed (agent_id,
// name, group_key, window_start); a receiver keeps the highest revision.
//
// Record format (little endian, version 1): u8 version, str name, str group_key,
// i64 window_start, i64 window_end, u32 revision, u8 final, u32 n_measures, then per measure
// str field, u32 n_stats, per stat str name + f64 value. str = u32 length + bytes.
// DecodeWindowResult checks every length against the bytes left before reading; a record that
// does not decode is kCorruption (stored bytes went bad).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tidegate {

struct MeasureResult {
  std::string field;                                  // JSON Pointer of the measured value
  std::vector<std::pair<std::string, double>> stats;  // e.g. {"count", 12}, {"p95", 23.1}
};

struct WindowResult {
  std::string name;       // the aggregation's name
  std::string group_key;  // the group_by values joined with '|'
  int64_t window_start = 0;
  int64_t window_end = 0;
  uint32_t revision = 0;  // 0 first, +1 for every corrected result of the same window
  bool final = false;     // closed by the watermark (false: emitted early, e.g. evicted)
  std::vector<MeasureResult> measures;
};

std::string EncodeWindowResult(const WindowResult& result);
Result<WindowResult> DecodeWindowResult(std::string_view bytes);
// Only the revision, read from the header without decoding the rest (the buffer compares
// revisions of one window). kCorruption if the header does not decode; where
// DecodeWindowResult succeeds, the same revision.
Result<uint32_t> WindowResultRevision(std::string_view bytes);

}  // namespace tidegate
