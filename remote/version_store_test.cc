// SPDX-License-Identifier: Apache-2.0
#include "remote/version_store.h"

#include <catch2/catch.hpp>

#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace tidegate::remote {

TEST_CASE("the highest accepted version survives a restart", "[remote]") {
  testing::TempDir dir("versions");
  {
    auto store = VersionStore::Open(dir.path());
    REQUIRE(store.ok());
    CHECK(store->highest() == 0);
    REQUIRE(store->Record(41).ok());
    REQUIRE(store->Record(42).ok());
  }
  auto reopened = VersionStore::Open(dir.path());
  REQUIRE(reopened.ok());
  CHECK(reopened->highest() == 42);
  CHECK(testing::ReadFile(dir.path() + "/remote_config.version") == "42\n");
}

TEST_CASE("a damaged version record is an error, never version 0", "[remote]") {
  testing::TempDir dir("versions");
  const std::string path = dir.path() + "/remote_config.version";
  for (const std::string text : {"", "x\n", "-1\n", "0\n", "12 \n", "9007199254740993\n"}) {
    INFO(text);
    REQUIRE(testing::WriteFile(path, text).ok());
    CHECK(VersionStore::Open(dir.path()).status().code() == StatusCode::kCorruption);
  }
}

}  // namespace tidegate::remote
