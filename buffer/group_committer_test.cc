// SPDX-License-Identifier: Apache-2.0
#include "buffer/group_committer.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
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
  void Process(std::vector<Event>& records, const tidegate::TimeReading& /*now*/,
               tidegate::buffer::CommitExtras& extras) override {
    ++calls;
    size_t n = records.size();
    for (size_t i = 0; i < n; ++i) {
      seen++;
      if (std::stoi(records[i].payload) % 2 == 1) records[i].store = false;
      Event result = MakeEvent(1000);
      result.kind = tidegate::RecordKind::kWindowResult;
      result.priority = tidegate::kWindowResultPriority;
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

TEST_CASE("a failed commit keeps its records and never runs the stage over them twice",
          "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  // Commits that need a new page fail with SQLITE_FULL, as on a full disk.
  auto pages = (*store)->PragmaInt("page_count");
  REQUIRE(pages.ok());
  REQUIRE((*store)->SetMaxPageCount(static_cast<uint64_t>(*pages)).ok());
  CountingStage stage;
  GroupCommitter committer(
      **store,
      CommitterOptions{.commit_interval = Millis(5), .stage = &stage, .idle_tick = Millis(20)});
  auto big = [](int n) {
    Event e = MakeEvent(n);
    e.payload = std::to_string(n) + std::string(2000, ' ');
    return e;
  };
  for (int i = 0; i < 20; ++i) REQUIRE(committer.Add(big(i)));
  bool failing = false;
  for (int i = 0; i < 300 && !failing; ++i) {
    std::this_thread::sleep_for(Millis(10));
    failing = committer.stats().failed_commits >= 3;
  }
  REQUIRE(failing);
  CHECK_FALSE(committer.stats().healthy);
  // More arrive while failing: they go through the stage once, after the held ones.
  for (int i = 20; i < 30; ++i) REQUIRE(committer.Add(big(i)));
  std::this_thread::sleep_for(Millis(100));
  REQUIRE((*store)->SetMaxPageCount(0).ok());
  REQUIRE(committer.Flush(Millis(5000)).ok());
  CHECK(committer.stats().healthy);
  const auto failed = committer.stats().failed_commits;
  REQUIRE(committer.Stop().ok());
  std::fprintf(stderr, "stage once: failed commits %llu, stage saw %d records\n",
               static_cast<unsigned long long>(failed), stage.seen);
  CHECK(stage.seen == 30);
  auto stats = (*store)->Stats();
  CHECK(stats->events == 15);
  CHECK(stats->records == 45);
  CHECK(stats->counters["stage.records"] == 30);
  // The raw events (priority 5; the results sit above at kWindowResultPriority), in order.
  tidegate::buffer::BatchRange raw;
  raw.priority = 5;
  raw.last_seq = std::numeric_limits<int64_t>::max();
  auto rows = (*store)->ReadRange(raw);
  REQUIRE(rows.ok());
  std::vector<int> order;
  for (const auto& r : *rows) order.push_back(std::stoi(r.event.payload));
  CHECK(order == std::vector<int>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28});
}

TEST_CASE("when_full block pauses Add until acknowledgements free space", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{
      .state_dir = dir.path(), .max_events = 50, .when_full = tidegate::WhenFull::kBlock});
  REQUIRE(store.ok());
  GroupCommitter committer(**store, CommitterOptions{.commit_interval = Millis(0)});
  std::atomic<int> added{0};
  std::thread producer([&] {
    for (int i = 0; i < 80; ++i) {
      if (!committer.Add(MakeEvent(i))) return;
      ++added;
    }
  });
  std::this_thread::sleep_for(Millis(300));
  CHECK(added.load() == 50);  // the 50th commit reached the high mark
  CHECK(committer.stats().store_full);
  CHECK((*store)->Stats()->records == 50);
  // Acknowledge 40: below the low mark (45), ingest resumes and the other 30 arrive.
  auto rows = (*store)->ReadNext(40, 1 << 30);
  tidegate::buffer::BatchRange r{.batch_id = "b",
                                 .priority = 5,
                                 .first_seq = rows->front().seq,
                                 .last_seq = rows->back().seq,
                                 .count = 40,
                                 .created_at_ms = 1};
  REQUIRE((*store)->MarkInflight(r).ok());
  REQUIRE((*store)->Ack(r).ok());
  producer.join();
  std::fprintf(stderr, "block: added %d, buffered %llu, dropped 0\n", added.load(),
               static_cast<unsigned long long>((*store)->Stats()->records));
  CHECK(added.load() == 80);
  CHECK((*store)->Stats()->records == 40);
  CHECK((*store)->Stats()->counters.count("dropped.max_events") == 0);
}

namespace {

// Blocks its third call until released, like a stage stuck on a lock or the disk.
class BlockingStage : public tidegate::buffer::CommitStage {
 public:
  void Process(std::vector<Event>& /*records*/, const tidegate::TimeReading& /*now*/,
               tidegate::buffer::CommitExtras& /*extras*/) override {
    std::unique_lock<std::mutex> lock(mu);
    if (++calls != 3) return;
    blocked = true;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  }
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;          // guarded by mu
  bool blocked = false;   // guarded by mu
  bool released = false;  // guarded by mu

  // True once the writer is inside the third commit's stage (within 10 s).
  bool WaitUntilBlocked() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return blocked; });
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
    }
    cv.notify_all();
  }
};

}  // namespace

TEST_CASE("last_progress stands still while the writer is stuck and moves on after", "[buffer]") {
  TempDir dir;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  BlockingStage stage;
  GroupCommitter committer(**store, CommitterOptions{.stage = &stage, .idle_tick = Millis(10)});
  REQUIRE(stage.WaitUntilBlocked());
  const auto stuck_at = committer.last_progress();
  // Whatever the timing, a writer inside the stage cannot have gone round its loop.
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(Millis(20));
    CHECK(committer.last_progress() == stuck_at);
  }
  stage.Release();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (committer.last_progress() == stuck_at && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(5));
  }
  CHECK(committer.last_progress() > stuck_at);
  REQUIRE(committer.Stop().ok());
}
