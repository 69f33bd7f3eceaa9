// SPDX-License-Identifier: Apache-2.0
#include "agent/state_dir_lock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/support/temp_dir.h"

using tidegate::StatusCode;
using tidegate::agent::StateDirLock;

TEST_CASE("a second lock on one state_dir is refused with the holder's pid", "[agent]") {
  tidegate::testing::TempDir dir("state-lock");
  const std::string state_dir = dir.File("state");
  auto first = StateDirLock::Acquire(state_dir);
  REQUIRE(first.ok());
  // flock conflicts between open file descriptions, so this process can play the second agent.
  auto second = StateDirLock::Acquire(state_dir);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kUnavailable);
  CHECK_THAT(second.status().message(),
             Catch::Contains(state_dir) && Catch::Contains("pid " + std::to_string(getpid())));

  SECTION("released when the holder goes away") {
    { StateDirLock gone = std::move(first).value(); }
    CHECK(StateDirLock::Acquire(state_dir).ok());
  }
}

TEST_CASE("the lock creates a missing state_dir private under umask 022", "[agent]") {
  tidegate::testing::TempDir dir("state-lock");
  const std::string state_dir = dir.File("new-state");
  const mode_t old_mask = umask(022);
  auto lock = StateDirLock::Acquire(state_dir);
  umask(old_mask);
  REQUIRE(lock.ok());
  struct stat st {};
  REQUIRE(stat(state_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(stat((state_dir + "/tidegate.lock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}
