// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/instance_uid.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace tidegate::remote::opamp {
namespace {

TEST_CASE("the instance_uid is created once, 0600, as a UUID v7, and kept", "[opamp]") {
  testing::TempDir dir("opamp-uid");
  testing::FakeClock clock;
  auto first = LoadOrCreateInstanceUid(dir.path(), clock);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 16);
  CHECK((static_cast<unsigned char>((*first)[6]) >> 4) == 7);
  CHECK((static_cast<unsigned char>((*first)[8]) >> 6) == 2);
  struct stat st {};
  REQUIRE(::stat(dir.File(kInstanceUidFile).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  clock.Advance(1000);
  auto again = LoadOrCreateInstanceUid(dir.path(), clock);  // as after a restart
  REQUIRE(again.ok());
  CHECK(*again == *first);

  testing::TempDir other("opamp-uid2");
  auto fresh = LoadOrCreateInstanceUid(other.path(), clock);
  REQUIRE(fresh.ok());
  CHECK(*fresh != *first);
}

TEST_CASE("a damaged instance_uid file is an error, not a new identity", "[opamp]") {
  testing::TempDir dir("opamp-uid-bad");
  testing::FakeClock clock;
  std::ofstream(dir.File(kInstanceUidFile)) << "short";
  auto uid = LoadOrCreateInstanceUid(dir.path(), clock);
  CHECK(uid.status().code() == StatusCode::kCorruption);
}

TEST_CASE("HexOf writes lower-case hex", "[opamp]") {
  CHECK(HexOf(std::string("\x00\x1f\xab", 3)) == "001fab");
}

}  // namespace
}  // namespace tidegate::remote::opamp
