// SPDX-License-Identifier: Apache-2.0
#include "common/window_result.h"

#include <catch2/catch.hpp>

TEST_CASE("window result records round-trip and reject truncation", "[window_result]") {
  tidegate::WindowResult r;
  r.name = "temp_1m";
  r.group_key = "dev-0001|north";
  r.window_start = -60'000;
  r.window_end = 0;
  r.revision = 3;
  r.final = true;
  r.measures = {{"/temp", {{"count", 12}, {"p95", 23.25}}}, {"/battery", {}}};
  std::string bytes = tidegate::EncodeWindowResult(r);
  auto back = tidegate::DecodeWindowResult(bytes);
  REQUIRE(back.ok());
  CHECK(back->name == r.name);
  CHECK(back->group_key == r.group_key);
  CHECK(back->window_start == r.window_start);
  CHECK(back->window_end == r.window_end);
  CHECK(back->revision == 3);
  CHECK(back->final);
  REQUIRE(back->measures.size() == 2);
  CHECK(back->measures[0].field == "/temp");
  CHECK(back->measures[0].stats == r.measures[0].stats);
  CHECK(back->measures[1].stats.empty());
  // Every truncation, the empty record included (fuzz/corpus/window_result/crash-empty-record),
  // is corruption of stored bytes, the code the fuzzer and the uplink expect.
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto truncated = tidegate::DecodeWindowResult(std::string_view(bytes).substr(0, n));
    REQUIRE_FALSE(truncated.ok());
    CHECK(truncated.status().code() == tidegate::StatusCode::kCorruption);
  }
  CHECK_FALSE(tidegate::DecodeWindowResult(bytes + "x").ok());
  std::string huge_count = bytes;
  huge_count[1 + 4 + 7 + 4 + 14 + 8 + 8 + 4 + 1] = '\xff';  // n_measures' low byte
  CHECK_FALSE(tidegate::DecodeWindowResult(huge_count).ok());
}

TEST_CASE("a window result's revision is read from its header alone", "[window_result]") {
  tidegate::WindowResult r;
  r.name = "temp_10s";
  r.group_key = "d1";
  r.revision = 0xfffffffe;
  r.measures = {{"/temp", {{"count", 1}}}};
  const std::string bytes = tidegate::EncodeWindowResult(r);
  auto revision = tidegate::WindowResultRevision(bytes);
  REQUIRE(revision.ok());
  CHECK(*revision == 0xfffffffe);
  // The header ends with the revision: 1 + (4 + 8) + (4 + 2) + 8 + 8 + 4 bytes.
  constexpr size_t kHeader = 39;
  CHECK(tidegate::WindowResultRevision(std::string_view(bytes).substr(0, kHeader)).ok());
  for (size_t n = 0; n < kHeader; ++n) {
    auto truncated = tidegate::WindowResultRevision(std::string_view(bytes).substr(0, n));
    REQUIRE_FALSE(truncated.ok());
    CHECK(truncated.status().code() == tidegate::StatusCode::kCorruption);
  }
  CHECK_FALSE(tidegate::WindowResultRevision("\x02" + bytes.substr(1)).ok());  // version 2
}
