// SPDX-License-Identifier: Apache-2.0
#include "common/sat_time.h"

#include <catch2/catch.hpp>

using tidegate::SatAdd;
using tidegate::SatSub;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
// The largest duration the config allows (buffer.max_age: 365d) and an RFC 3339 extreme.
constexpr int64_t kYearMs = 365LL * 86'400'000;
constexpr int64_t kYear9999Ms = 253'402'300'799'999;

}  // namespace

TEST_CASE("SatAdd and SatSub are exact when nothing overflows", "[common]") {
  CHECK(SatAdd(1'000, 234) == 1'234);
  CHECK(SatAdd(-5, 3) == -2);
  CHECK(SatSub(1'000, 234) == 766);
  CHECK(SatSub(-5, -3) == -2);
  CHECK(SatAdd(kYear9999Ms, kYearMs) == kYear9999Ms + kYearMs);
  CHECK(SatSub(-kYear9999Ms, kYearMs) == -kYear9999Ms - kYearMs);
  CHECK(SatAdd(kMax, 0) == kMax);
  CHECK(SatAdd(kMin, 0) == kMin);
  CHECK(SatSub(kMax, 0) == kMax);
  CHECK(SatSub(kMin, 0) == kMin);
  CHECK(SatAdd(kMax, kMin) == -1);
  CHECK(SatSub(-1, kMin) == kMax);
}

TEST_CASE("SatAdd and SatSub clamp at the int64 extremes instead of overflowing", "[common]") {
  CHECK(SatAdd(kMax, 1) == kMax);
  CHECK(SatAdd(kMax, kMax) == kMax);
  CHECK(SatAdd(kMax - kYearMs + 1, kYearMs) == kMax);
  CHECK(SatAdd(kMin, -1) == kMin);
  CHECK(SatAdd(kMin, kMin) == kMin);
  CHECK(SatAdd(kMin + kYearMs - 1, -kYearMs) == kMin);
  CHECK(SatSub(kMin, 1) == kMin);
  CHECK(SatSub(kMin, kMax) == kMin);
  CHECK(SatSub(kMin + kYearMs - 1, kYearMs) == kMin);
  CHECK(SatSub(kMax, -1) == kMax);
  CHECK(SatSub(0, kMin) == kMax);  // -INT64_MIN does not exist
  CHECK(SatSub(kMax, kMin) == kMax);
}

TEST_CASE("SatAdd and SatSub are usable at compile time", "[common]") {
  static_assert(SatAdd(kMax, 1) == kMax);
  static_assert(SatSub(kMin, 1) == kMin);
  SUCCEED();
}
