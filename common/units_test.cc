// SPDX-License-Identifier: Apache-2.0
#include "common/units.h"

#include <catch2/catch.hpp>
#include <limits>

using tidegate::ParseDuration;
using tidegate::ParseSize;

TEST_CASE("durations parse in every unit and in compound form", "[common]") {
  CHECK(ParseDuration("50ms")->count() == 50);
  CHECK(ParseDuration("30s")->count() == 30'000);
  CHECK(ParseDuration("5m")->count() == 300'000);
  CHECK(ParseDuration("2h")->count() == 7'200'000);
  CHECK(ParseDuration("1d")->count() == 86'400'000);
  CHECK(ParseDuration("1h30m")->count() == 5'400'000);
  CHECK(ParseDuration("0")->count() == 0);
}

TEST_CASE("bad durations are errors that say why", "[common]") {
  for (const char* bad : {"", "s", "10", "10x", "-5s", "1.5s", "99999999999999999999d"}) {
    INFO(bad);
    auto r = ParseDuration(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == tidegate::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("sizes parse binary and decimal units", "[common]") {
  CHECK(*ParseSize("512") == 512);
  CHECK(*ParseSize("64KiB") == 65536);
  CHECK(*ParseSize("256MiB") == 256ull << 20);
  CHECK(*ParseSize("1GB") == 1'000'000'000);
  CHECK_FALSE(ParseSize("1.5MiB").ok());
  CHECK_FALSE(ParseSize("MiB").ok());
  CHECK_FALSE(ParseSize("10 MiB").ok());
  CHECK_FALSE(ParseSize("99999999999TiB").ok());
}

TEST_CASE("durations and sizes format to text that parses back to the same value", "[common]") {
  using std::chrono::milliseconds;
  CHECK(tidegate::FormatDuration(milliseconds(0)) == "0");
  CHECK(tidegate::FormatDuration(milliseconds(250)) == "250ms");
  CHECK(tidegate::FormatDuration(milliseconds(60'000)) == "1m");
  CHECK(tidegate::FormatDuration(milliseconds(60'001)) == "60001ms");
  CHECK(tidegate::FormatDuration(milliseconds(65'535'000)) == "65535s");
  CHECK(tidegate::FormatDuration(milliseconds(365LL * 86'400'000)) == "365d");
  CHECK(tidegate::FormatDuration(milliseconds(5'400'000)) == "90m");
  CHECK(tidegate::FormatSize(0) == "0");
  CHECK(tidegate::FormatSize(1ull << 20) == "1MiB");
  CHECK(tidegate::FormatSize((1ull << 20) + 1) == "1048577");
  CHECK(tidegate::FormatSize(1ull << 40) == "1TiB");
  CHECK(tidegate::FormatSize(1000) == "1000");
  for (int64_t ms : {int64_t{1}, int64_t{999}, int64_t{86'400'001}, int64_t{31'536'000'001},
                     std::numeric_limits<int64_t>::max()}) {
    INFO(ms);
    CHECK(ParseDuration(tidegate::FormatDuration(milliseconds(ms)))->count() == ms);
  }
  for (uint64_t bytes : {uint64_t{1}, uint64_t{1023}, uint64_t{3} << 30, ~uint64_t{0}}) {
    INFO(bytes);
    CHECK(*ParseSize(tidegate::FormatSize(bytes)) == bytes);
  }
}
