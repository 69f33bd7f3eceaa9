// SPDX-License-Identifier: Apache-2.0
#include "buffer/group_committer.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

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

namespace {

// Appends one result per record, hides odd records (store = false) and checkpoints a count.
class CountingStage : public tidegate::buffer::CommitStage {
 public:
  void Process(std::vector<Event>& records, int64_t /*now_ms*/,
               tidegate::buffer::CommitExtras& extras) override {
    ++calls;
    size_t n = records.size();
    for (size_t i = 0; i < n; ++i) {
      seen++;
      if (std::stoi(records[i].payload) % 2 == 1) records[i].store = false;
      Event result = MakeEvent(1000);
      result.kind = tidegate::RecordKind::kWindowResult;
      records.push_back(std::move(result));
    }
    if (n > 0) extras.state.push_back({.key = "seen", .value = std::to_string(seen)});
    extras.counters["stage.records"] += static_cast<int64_t>(n);
  }
  int calls = 0;
  int seen = 0;
};

}  // namespace

TEST_CASE("a commit stage's output commits with the records that caused it", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  CountingStage stage;
  {
    GroupCommitter committer(
        **store,
        CommitterOptions{.commit_interval = Millis(0), .stage = &stage, .idle_tick = Millis(20)});
    for (int i = 0; i < 10; ++i) REQUIRE(committer.Add(MakeEvent(i)));
    // Nothing arrives now: the stage keeps being called on idle ticks.
    int calls = stage.calls;
    std::this_thread::sleep_for(Millis(200));
    CHECK(stage.calls > calls);
    REQUIRE(committer.Stop().ok());
  }
  CHECK(stage.seen == 10);
  auto stats = (*store)->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->events == 5);    // odd records were aggregated only
  CHECK(stats->records == 15);  // plus 10 window results
  CHECK(stats->counters["stage.records"] == 10);
  auto state = (*store)->LoadState();
  REQUIRE(state.ok());
  REQUIRE(state->size() == 1);
  CHECK((*state)[0].first == "seen");
  CHECK((*state)[0].second == "10");
}

TEST_CASE("state writes upsert and erase agg_state rows", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  using tidegate::buffer::StateWrite;
  REQUIRE((*store)
              ->Append({}, {}, {}, {}, {{.key = "a", .value = "1"}, {.key = "b", .value = "2"}})
              .ok());
  REQUIRE((*store)
              ->Append({}, {}, {}, {}, {{.key = "a", .value = "3"}, {.key = "b", .erase = true}})
              .ok());
  auto state = (*store)->LoadState();
  REQUIRE(state.ok());
  REQUIRE(state->size() == 1);
  CHECK((*state)[0] == std::pair<std::string, std::string>("a", "3"));
}
