// SPDX-License-Identifier: Apache-2.0
#include "common/time_format.h"

#include <catch2/catch.hpp>

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
