// SPDX-License-Identifier: Apache-2.0
// The aggregation tests' reference: a deliberately simple batch computation, written apart
// from the agent's streaming code. It takes every reading at once, groups it by (device_id,
// tumbling window start) and computes each statistic directly: count by counting, min/max by
// scanning, the sum exactly in 128-bit fixed point, quantiles by sorting (lower rank,
// sorted[floor(q * (n - 1))]), last by the largest event time. Then it compares what
// `tidegate-collector dump aggregates` landed with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

// One line of `tidegate-collector dump aggregates`.
struct LandedAggregate {
  std::string name;
  std::string key;
  int64_t window_start = 0;
  int64_t window_end = 0;
  uint32_t revision = 0;
  bool final = false;
  std::map<std::string, std::map<std::string, double>> measures;  // field -> stat -> value
};

Result<std::vector<LandedAggregate>> ParseLandedAggregates(std::string_view ndjson);

// A reading as the reference sees it: who, when, and the numeric fields of its payload.
struct Reading {
  std::string device_id;
  int64_t ts_ms = 0;
  std::string payload;  // JSON object
};

struct ReferenceOptions {
  std::string name;       // the aggregation's name
  int64_t window_ms = 0;  // tumbling window size
  // Top-level numeric fields measured -> the stats asked for, e.g. {"temp", {"count", "p95"}}.
  std::map<std::string, std::vector<std::string>> fields;
  double quantile_error = 0.01;  // the sketch's stated relative error
};

struct ComparisonReport {
  size_t reference_windows = 0;
  size_t landed_windows = 0;
  size_t compared_values = 0;
  size_t revised_windows = 0;           // landed with revision > 0 (late data corrected them)
  std::vector<std::string> mismatches;  // empty when everything agrees
  std::string Summary() const;
};

// Compares landed aggregates of opts.name with the reference over readings; every
// reference window must be landed (final) with the stats asked for: count, min, max and sum
// equal, avg within 1e-9 relative, p50/p95/p99 within quantile_error relative, and last equal
// to a value at the window's largest event time. A stat missing, or landed windows the
// reference lacks, are mismatches too.
ComparisonReport CompareWithReference(const std::vector<Reading>& readings,
                                      const std::vector<LandedAggregate>& landed,
                                      const ReferenceOptions& opts);

}  // namespace tidegate::testing
