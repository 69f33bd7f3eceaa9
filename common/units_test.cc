// SPDX-License-Identifier: Apache-2.0
#include "common/units.h"

#include <catch2/catch.hpp>

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
