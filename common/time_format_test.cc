// SPDX-License-Identifier: Apache-2.0
#include "common/time_format.h"

#include <catch2/catch.hpp>
#include <limits>

using tidegate::FormatRfc3339Ms;
using tidegate::ParseRfc3339Ms;

TEST_CASE("RFC 3339 formatting is UTC with milliseconds", "[common]") {
  CHECK(FormatRfc3339Ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatRfc3339Ms(1'764'000'000'123) == "2025-11-24T16:00:00.123Z");
  CHECK(FormatRfc3339Ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339Ms(951'782'400'000) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("RFC 3339 parsing handles fractions and offsets", "[common]") {
  CHECK(*ParseRfc3339Ms("2025-11-24T16:00:00.123Z") == 1'764'000'000'123);
  CHECK(*ParseRfc3339Ms("2025-11-24T17:00:00.123456+01:00") == 1'764'000'000'123);
  CHECK(*ParseRfc3339Ms("2025-11-24t16:00:00z") == 1'764'000'000'000);
  CHECK(*ParseRfc3339Ms("1969-12-31T23:59:59.999Z") == -1);
  for (const char* bad : {"", "2025-11-24", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
                          "2025-11-24T16:00:00", "2025-11-24T16:00:00.Z", "2025-11-24T24:00:00Z",
                          "2025-11-24T16:00:00Zjunk", "2025-11-24T16:00:00+1:00"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339Ms(bad).ok());
  }
}

TEST_CASE("RFC 3339 formatting is exact at the ends of years 0000-9999", "[common]") {
  CHECK(FormatRfc3339Ms(tidegate::kMinRfc3339Ms) == "0000-01-01T00:00:00.000Z");
  CHECK(FormatRfc3339Ms(tidegate::kMaxRfc3339Ms) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339Ms(tidegate::kMinRfc3339Ms + 1) == "0000-01-01T00:00:00.001Z");
  CHECK(FormatRfc3339Ms(tidegate::kMaxRfc3339Ms - 1) == "9999-12-31T23:59:59.998Z");
  CHECK(*ParseRfc3339Ms("0000-01-01T00:00:00Z") == tidegate::kMinRfc3339Ms);
  CHECK(*ParseRfc3339Ms("9999-12-31T23:59:59.999Z") == tidegate::kMaxRfc3339Ms);
  CHECK(tidegate::InRfc3339Range(tidegate::kMinRfc3339Ms));
  CHECK(tidegate::InRfc3339Range(tidegate::kMaxRfc3339Ms));
  CHECK_FALSE(tidegate::InRfc3339Range(tidegate::kMinRfc3339Ms - 1));
  CHECK_FALSE(tidegate::InRfc3339Range(tidegate::kMaxRfc3339Ms + 1));
}

TEST_CASE("RFC 3339 formatting clamps times outside years 0000-9999", "[common][issue-10]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  // The value that once printed "318857-05-20T17:46:40.000Z".
  CHECK(FormatRfc3339Ms(9'999'999'999'999'999) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339Ms(tidegate::kMaxRfc3339Ms + 1) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339Ms(kMax) == "9999-12-31T23:59:59.999Z");
  CHECK(FormatRfc3339Ms(tidegate::kMinRfc3339Ms - 1) == "0000-01-01T00:00:00.000Z");
  CHECK(FormatRfc3339Ms(-9'999'999'999'999'999) == "0000-01-01T00:00:00.000Z");
  CHECK(FormatRfc3339Ms(kMin) == "0000-01-01T00:00:00.000Z");
  // Every output, whatever the input, is 24 characters of one fixed shape.
  for (int64_t ms : std::initializer_list<int64_t>{kMin, kMin + 1, -(int64_t{1} << 50), -1, 0,
                                                   int64_t{1} << 50, kMax - 1, kMax}) {
    INFO(ms);
    std::string text = FormatRfc3339Ms(ms);
    CHECK(text.size() == 24);
    CHECK(ParseRfc3339Ms(text).ok());
  }
}
