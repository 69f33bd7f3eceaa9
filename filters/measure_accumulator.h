// SPDX-License-Identifier: Apache-2.0
// MeasureAccumulator: the running statistics of one measured field in one window: count,
// sum (exact, see exact_sum.h), min, max, avg, last by event time, and p50/p95/p99 from a
// QuantileSketch (relative error QuantileSketch::kRelativeAccuracy) allocated only when the
// measure asks for a quantile. Encoded into the window checkpoint. Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/byte_codec.h"
#include "filters/exact_sum.h"
#include "filters/quantile_sketch.h"

namespace tidegate::filters {

enum class Stat : uint8_t { kCount, kSum, kMin, kMax, kAvg, kLast, kP50, kP95, kP99 };

// "count" -> kCount ...; false for an unknown name.
bool ParseStat(std::string_view name, Stat* stat);
const char* StatName(Stat stat);
inline bool IsQuantile(Stat s) { return s == Stat::kP50 || s == Stat::kP95 || s == Stat::kP99; }

class MeasureAccumulator {
 public:
  explicit MeasureAccumulator(bool with_sketch = false);

  // Adds a finite value seen at event_time. Last-by-event-time keeps the later arrival on a
  // tie, as a device's own resend of a reading would.
  void Add(double value, int64_t event_time);
  uint64_t count() const { return count_; }
  // The stats asked for, in the order given; only count when no value was seen.
  std::vector<std::pair<std::string, double>> Results(const std::vector<Stat>& stats) const;
  size_t MemoryBytes() const;

  void Encode(ByteWriter& out) const;
  // At least the bytes Encode writes, for reserving.
  size_t EncodedBytesBound() const;
  // False on a malformed or truncated encoding.
  bool Decode(ByteReader& in);

 private:
  uint64_t count_ = 0;
  ExactSum sum_;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  double last_ = 0;
  int64_t last_time_ = std::numeric_limits<int64_t>::min();
  std::unique_ptr<QuantileSketch> sketch_;  // only with quantiles
};

}  // namespace tidegate::filters
