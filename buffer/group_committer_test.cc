// SPDX-License-Identifier: Apache-2.0
#include "buffer/group_committer.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/temp_dir.h"

namespace {

using tidegate::Event;
using tidegate::Millis;
using tidegate::buffer::CommitterOptions;
using tidegate::buffer::GroupCommitter;
using tidegate::buffer::SqliteStore;
using tidegate::buffer::StoreOptions;

using tidegate::testing::TempDir;

Event MakeEvent(int n) {
  Event e;
  e.topic = "t";
  e.device_id = "d";
  e.payload = std::to_string(n);
  return e;
}

}  // namespace

TEST_CASE("commit_interval 0 commits before Add returns", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  GroupCommitter committer(**store, CommitterOptions{.commit_interval = Millis(0)});
  for (int i = 0; i < 20; ++i) {
    REQUIRE(committer.Add(MakeEvent(i)));
    CHECK((*store)->Stats()->records == static_cast<uint64_t>(i + 1));
  }
}

TEST_CASE("staged records commit within about one interval without a flush", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  GroupCommitter committer(**store, CommitterOptions{.commit_interval = Millis(20)});
  for (int round = 1; round <= 3; ++round) {
    REQUIRE(committer.Add(MakeEvent(round)));
    bool committed = false;
    for (int i = 0; i < 200 && !committed; ++i) {
      std::this_thread::sleep_for(Millis(10));
      committed = (*store)->Stats()->records == static_cast<uint64_t>(round);
    }
    CHECK(committed);
  }
}

TEST_CASE("group commit gathers many records into few transactions", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  GroupCommitter committer(**store, CommitterOptions{.commit_interval = Millis(100)});
  for (int i = 0; i < 5000; ++i) REQUIRE(committer.Add(MakeEvent(i)));
  REQUIRE(committer.Flush(Millis(5000)).ok());
  CHECK((*store)->Stats()->records == 5000);
  CHECK(committer.stats().commits < 50);
  auto rows = (*store)->ReadNext(5000, 1 << 30);
  REQUIRE(rows->size() == 5000);
  for (size_t i = 0; i < rows->size(); ++i) CHECK((*rows)[i].event.payload == std::to_string(i));
}

TEST_CASE("Stop commits everything staged", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  {
    GroupCommitter committer(**store, CommitterOptions{.commit_interval = Millis(10'000)});
    for (int i = 0; i < 100; ++i) REQUIRE(committer.Add(MakeEvent(i)));
    REQUIRE(committer.Stop().ok());
    CHECK_FALSE(committer.Add(MakeEvent(1)));
  }
  CHECK((*store)->Stats()->records == 100);
}
