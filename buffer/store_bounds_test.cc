// SPDX-License-Identifier: Apache-2.0
// The buffer's bounds: max_bytes (database + WAL on disk), max_events, max_age, the drop
// order (priority, then raw events before window results), protection of in-flight batches
// and the eighth of the bound they may hold, when_full: block watermarks, the dedup key
// bound and the sync pragma.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "buffer/sqlite_store.h"
#include "buffer/store_test_helpers.h"
#include "tests/support/temp_dir.h"

namespace {

using tidegate::Event;
using tidegate::Millis;
using tidegate::RecordKind;
using tidegate::WhenFull;
using tidegate::buffer::BatchRange;
using tidegate::buffer::BufferedRecord;
using tidegate::buffer::SqliteStore;
using tidegate::buffer::StoreLimits;
using tidegate::buffer::StoreOptions;
using tidegate::buffer::testing::CounterOf;
using tidegate::buffer::testing::DiskBytes;
using tidegate::buffer::testing::OpenOrFail;
using tidegate::buffer::testing::RangeOf;
using tidegate::testing::TempDir;

class FakeClock : public tidegate::Clock {
 public:
  int64_t NowUnixMs() override { return now_ms; }
  std::chrono::steady_clock::time_point Monotonic() override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms));
  }
  int64_t now_ms = 1'700'000'000'000;
};

Event MakeEvent(int priority, int n, size_t payload_bytes = 40, int64_t ingest_ms = 0) {
  Event e;
  e.topic = "devices/d" + std::to_string(n % 7) + "/telemetry";
  e.device_id = "d" + std::to_string(n % 7);
  e.event_time_ms = 1000 + n;
  e.ingest_time_ms = ingest_ms;
  e.age_ms = ingest_ms;  // FakeClock's age line runs with its wall clock (no steps here)
  e.priority = priority;
  e.payload =
      R"({"n":)" + std::to_string(n) + R"(,"pad":")" + std::string(payload_bytes, 'x') + R"("})";
  return e;
}

Event MakeResult(int priority, int n) {
  Event e = MakeEvent(priority, n);
  e.kind = RecordKind::kWindowResult;
  return e;
}

// Every record still buffered, in read order (reads everything, acknowledges nothing).
std::vector<std::pair<int, std::string>> Remaining(SqliteStore& store) {
  std::vector<std::pair<int, std::string>> out;
  for (int p = 9; p >= 0; --p) {
    BatchRange all{.batch_id = "x", .priority = p, .first_seq = 0, .last_seq = 1ull << 62};
    auto range = store.ReadRange(all);
    REQUIRE(range.ok());
    for (const auto& r : *range) {
      out.emplace_back(p, std::string(r.event.kind == RecordKind::kEvent ? "e" : "w") +
                              r.event.payload.substr(5, r.event.payload.find(',') - 5));
    }
  }
  return out;
}

// Records the store's full/resume calls in *calls, then appends 120 events to a store
// opened with max_events 100 and when_full block: past its high mark.
void AppendPastBlockMark(SqliteStore& store, std::vector<bool>* calls) {
  CHECK_FALSE(store.SetFullCallback([calls](bool full) { calls->push_back(full); }));
  std::vector<Event> events;
  events.reserve(120);
  for (int i = 0; i < 120; ++i) events.push_back(MakeEvent(5, i));
  REQUIRE(store.Append(events, {}, {}).ok());
}

// Every buffered record of priority 8 (the alarms of the tests below), for ReadRange.
const BatchRange kAllAlarms{
    .batch_id = "x", .priority = 8, .first_seq = 0, .last_seq = uint64_t{1} << 62};

}  // namespace

TEST_CASE("drop_oldest keeps the database and WAL on disk within max_bytes", "[buffer]") {
  TempDir dir;
  const uint64_t max_bytes = GENERATE(1ull << 20, 4ull << 20);
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = max_bytes, .clock = &clock});
  const StoreLimits& limits = store->limits();
  uint64_t appended = 0, max_disk = 0, max_wal = 0;
  for (int batch = 0; batch < 600; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 40; ++i) {
      Event e = MakeEvent(i % 3 == 0 ? 8 : 2, batch * 40 + i, 250, clock.now_ms);
      e.dedup_key = static_cast<uint64_t>(batch) * 40 + static_cast<uint64_t>(i) + 1;
      e.dedup_expires_ms = clock.now_ms + 600'000;
      events.push_back(std::move(e));
    }
    REQUIRE(store->Append(events, {}, {}).ok());
    appended += events.size();
    clock.now_ms += 10;
    max_disk = std::max(max_disk, DiskBytes(store->path()));
    std::error_code ec;
    auto wal = std::filesystem::file_size(store->path() + "-wal", ec);
    max_wal = std::max<uint64_t>(max_wal, ec ? 0 : wal);
  }
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  int64_t dropped = CounterOf(*store, "dropped.buffer_full");
  std::fprintf(stderr,
               "bounds: max_bytes %llu data budget %llu: appended %llu, buffered %llu, dropped "
               "%lld, max db+wal %llu, max wal %llu, used %llu\n",
               static_cast<unsigned long long>(max_bytes),
               static_cast<unsigned long long>(limits.data_bytes),
               static_cast<unsigned long long>(appended),
               static_cast<unsigned long long>(stats->records), static_cast<long long>(dropped),
               static_cast<unsigned long long>(max_disk), static_cast<unsigned long long>(max_wal),
               static_cast<unsigned long long>(stats->used_bytes));
  CHECK(max_disk <= max_bytes);
  // The WAL's share of the reserve (store_limits.h): the checkpoint threshold plus one
  // transaction. The file keeps its high-water size after a checkpoint
  // (RESTART), so sampling between appends sees the real peak; a truncating checkpoint hid it
  // (a commit of 23 frames after 15 left 38 frames, 156,592 bytes at 1 MiB, either way).
  CHECK(max_wal <= limits.wal_checkpoint_bytes + limits.transaction_wal_bytes);
  CHECK(stats->used_bytes <= limits.data_bytes);
  CHECK(dropped > 0);
  CHECK(static_cast<uint64_t>(dropped) + stats->records == appended);
  // The budget is used, not wasted: at least half of it holds records.
  CHECK(stats->records * 300 > limits.data_bytes / 2);
}

TEST_CASE("drop_oldest drops the lowest priority's oldest raw events first, results last",
          "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_events = 6});
  REQUIRE(store
              ->Append({MakeEvent(2, 1), MakeEvent(8, 2), MakeResult(1, 3), MakeEvent(2, 4),
                        MakeEvent(8, 5), MakeEvent(2, 6)},
                       {}, {})
              .ok());
  CHECK(CounterOf(*store, "dropped.max_events") == 0);
  // Two more: the two oldest priority-2 events go, not the older priority-8 one.
  REQUIRE(store->Append({MakeEvent(8, 7), MakeEvent(8, 8)}, {}, {}).ok());
  using V = std::vector<std::pair<int, std::string>>;
  CHECK(Remaining(*store) == V{{8, "e2"}, {8, "e5"}, {8, "e7"}, {8, "e8"}, {2, "e6"}, {1, "w3"}});
  // Three more: the last priority-2 event, then the oldest priority-8 ones; the window
  // result, of the lowest priority, stays.
  REQUIRE(store->Append({MakeEvent(8, 9), MakeEvent(8, 10), MakeEvent(8, 11)}, {}, {}).ok());
  CHECK(Remaining(*store) == V{{8, "e7"}, {8, "e8"}, {8, "e9"}, {8, "e10"}, {8, "e11"}, {1, "w3"}});
  CHECK(CounterOf(*store, "dropped.max_events") == 5);
  // Only window results: they go too, oldest first, counted apart.
  REQUIRE(store
              ->Append({MakeResult(1, 12), MakeResult(1, 13), MakeResult(1, 14), MakeResult(1, 15),
                        MakeResult(1, 16), MakeResult(1, 17)},
                       {}, {})
              .ok());
  CHECK(CounterOf(*store, "dropped.max_events") == 10);
  CHECK(CounterOf(*store, "dropped_window_results.max_events") == 1);
  CHECK(store->Stats()->records == 6);
  tidegate::buffer::testing::CheckRecordCount(*store);
  std::fprintf(stderr, "drop order: dropped.max_events %lld, window results %lld\n",
               static_cast<long long>(CounterOf(*store, "dropped.max_events")),
               static_cast<long long>(CounterOf(*store, "dropped_window_results.max_events")));
}

TEST_CASE("records of an in-flight batch or the last read are never dropped", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_events = 16});
  REQUIRE(store->Append({MakeEvent(5, 1), MakeEvent(5, 2), MakeEvent(5, 3)}, {}, {}).ok());
  auto rows = store->ReadNext(2, 1 << 20);
  REQUIRE(rows->size() == 2);
  const BatchRange range = RangeOf("b1", *rows);
  REQUIRE(store->MarkInflight(range).ok());
  std::vector<Event> flood;
  for (int i = 10; i < 30; ++i) flood.push_back(MakeEvent(5, i));
  REQUIRE(store->Append(flood, {}, {}).ok());
  auto batch = store->ReadRange(range);
  REQUIRE(batch.ok());
  CHECK(batch->size() == 2);
  CHECK(store->Stats()->records == 16);
  CHECK(CounterOf(*store, "dropped.max_events") == 7);
  // ReadNext's answer is protected too, until the next ReadNext.
  REQUIRE(store->Ack(range).ok());
  auto next = store->ReadNext(2, 1 << 20);
  REQUIRE(next->size() == 2);
  std::vector<Event> more;
  for (int i = 40; i < 60; ++i) more.push_back(MakeEvent(5, i));
  REQUIRE(store->Append(more, {}, {}).ok());
  const BatchRange read = RangeOf("r", *next);
  CHECK(store->ReadRange(read)->size() == 2);
}

// ReadNext reads from a snapshot and reserves the rows it read only afterwards: a drop
// committed in between may take some of them. ReadNext must then return what is really
// there, not rows that were dropped (and counted as dropped) as well.
TEST_CASE("a drop between ReadNext's snapshot and its reservation is not read", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_events = 160});
  std::vector<Event> events;
  for (int i = 0; i < 160; ++i) events.push_back(MakeEvent(5, i));
  REQUIRE(store->Append(events, {}, {}).ok());
  int next = 160;
  store->SetAfterReadSnapshot([&] {
    std::vector<Event> more;
    for (int i = 0; i < 5; ++i) more.push_back(MakeEvent(5, next++));
    REQUIRE(store->Append(more, {}, {}).ok());  // max_events: the 5 oldest go
  });
  auto rows = store->ReadNext(8, 1 << 20);
  store->SetAfterReadSnapshot(nullptr);
  REQUIRE(rows.ok());
  std::vector<uint64_t> seqs;
  for (const auto& r : *rows) seqs.push_back(r.seq);
  std::fprintf(stderr, "read across a drop: dropped %lld, read %zu rows, first seq %llu\n",
               static_cast<long long>(CounterOf(*store, "dropped.max_events")), rows->size(),
               static_cast<unsigned long long>(seqs.empty() ? 0 : seqs.front()));
  CHECK(CounterOf(*store, "dropped.max_events") == 5);
  CHECK(seqs == std::vector<uint64_t>{6, 7, 8});
  // What it returned is still there and now protected.
  std::vector<Event> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(MakeEvent(5, next++));
  REQUIRE(store->Append(flood, {}, {}).ok());
  CHECK(store->ReadRange(RangeOf("r", *rows))->size() == 3);
}

TEST_CASE("batches in flight hold at most an eighth of max_events", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_events = 80});
  std::vector<Event> events;
  for (int i = 0; i < 40; ++i) events.push_back(MakeEvent(2, i));
  REQUIRE(store->Append(events, {}, {}).ok());
  // An eighth of 80: the first read gets 10 of the 30 asked for, the next nothing while
  // that batch is in flight, then 10 again once it is acknowledged.
  auto first = store->ReadNext(30, 1 << 20);
  REQUIRE(first->size() == 10);
  const BatchRange range = RangeOf("b1", *first);
  REQUIRE(store->MarkInflight(range).ok());
  CHECK(store->ReadNext(30, 1 << 20)->empty());
  REQUIRE(store->Ack(range).ok());
  CHECK(store->ReadNext(30, 1 << 20)->size() == 10);
  // A live change of policy moves the budget with it: block drops nothing and reads whole
  // batches; back to drop_oldest, an eighth again.
  REQUIRE(store->SetBounds({.max_events = 80, .when_full = WhenFull::kBlock}).ok());
  CHECK(store->ReadNext(30, 1 << 20)->size() == 30);
  REQUIRE(store->SetBounds({.max_events = 80, .when_full = WhenFull::kDropOldest}).ok());
  CHECK(store->ReadNext(30, 1 << 20)->size() == 10);
}

// The flaky e2e drop_oldest case, made deterministic: when the uplink fell behind, batches
// of 1,000 low-priority events piled up in flight until they alone exceeded the budget, and
// the size policy then dropped alarms (priority 8) and window results it should have kept.
TEST_CASE("batches in flight cannot crowd a higher priority out of a full buffer", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  const uint64_t data_bytes = store->limits().data_bytes;
  int n = 0, batches = 0;
  uint64_t inflight_bytes = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<Event> low;
    for (int i = 0; i < 100; ++i) low.push_back(MakeEvent(2, n++, 250, clock.now_ms));
    REQUIRE(store->Append(low, {}, {}).ok());
    auto rows = store->ReadNext(1000, 1 << 20);
    REQUIRE(rows.ok());
    if (rows->empty()) continue;
    const BatchRange range = RangeOf("b" + std::to_string(++batches), *rows);
    for (const auto& r : *rows) {  // as SqliteStore estimates what a record takes on disk
      inflight_bytes += r.event.payload.size() + r.event.topic.size() + r.event.device_id.size() +
                        r.event.schema_name.size() + 64;
    }
    REQUIRE(store->MarkInflight(range).ok());  // never acknowledged: the receiver is down
    clock.now_ms += 10;
  }
  for (int chunk = 0; chunk < 16; ++chunk) {
    std::vector<Event> alarms;
    for (int i = 0; i < 50; ++i) alarms.push_back(MakeEvent(8, n++, 250, clock.now_ms));
    REQUIRE(store->Append(alarms, {}, {}).ok());
  }
  auto high = store->ReadRange(kAllAlarms);
  REQUIRE(high.ok());
  std::fprintf(stderr,
               "in-flight budget: %d batches in flight, %llu bytes stored (an eighth of data "
               "%llu); alarms kept %zu of 800; dropped %lld\n",
               batches, static_cast<unsigned long long>(inflight_bytes),
               static_cast<unsigned long long>(data_bytes), high->size(),
               static_cast<long long>(CounterOf(*store, "dropped.buffer_full")));
  CHECK(inflight_bytes <= data_bytes / 8 + 400);  // one record past it, at most
  CHECK(high->size() == 800);
  CHECK(CounterOf(*store, "dropped.buffer_full") > 0);  // the low priority paid for the room
  CHECK(store->Stats()->used_bytes <= data_bytes);
  // After a restart the batches left in flight hold the same budget (estimated in SQL).
  store.reset();
  store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  auto after_restart = store->ReadNext(1000, 1 << 20);
  REQUIRE(after_restart.ok());
  CHECK(after_restart->empty());
}

TEST_CASE("max_age deletes unsent raw events older than the limit and counts them", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_age = Millis(60'000), .clock = &clock});
  const int64_t t0 = clock.now_ms;
  REQUIRE(store
              ->Append({MakeEvent(2, 1, 40, t0), MakeEvent(8, 2, 40, t0), MakeResult(5, 3),
                        MakeEvent(2, 4, 40, t0 + 30'000)},
                       {}, {})
              .ok());
  clock.now_ms = t0 + 61'000;
  REQUIRE(store->Maintain().ok());
  using V = std::vector<std::pair<int, std::string>>;
  // Both priorities lose their old event; the window result and the young event stay.
  CHECK(Remaining(*store) == V{{5, "w3"}, {2, "e4"}});
  CHECK(CounterOf(*store, "dropped.max_age") == 2);
  clock.now_ms = t0 + 91'000;
  REQUIRE(store->Maintain().ok());
  CHECK(CounterOf(*store, "dropped.max_age") == 3);
  CHECK(store->Stats()->records == 1);
  tidegate::buffer::testing::CheckRecordCount(*store);
  std::fprintf(stderr, "max_age: dropped.max_age %lld, left %llu\n",
               static_cast<long long>(CounterOf(*store, "dropped.max_age")),
               static_cast<unsigned long long>(store->Stats()->records));
}

TEST_CASE("max_age at its largest and at INT64_MAX expires by a cutoff that cannot wrap",
          "[buffer][issue-10]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kYear = 365LL * 86'400'000;  // the largest max_age config check allows
  for (int64_t max_age : {kYear, kMax}) {
    INFO("max_age " << max_age);
    TempDir dir;
    FakeClock clock;
    clock.now_ms = 0;
    auto store = OpenOrFail({.state_dir = dir.path(), .max_age = Millis(max_age), .clock = &clock});
    REQUIRE(store
                ->Append({MakeEvent(2, 1, 40, std::numeric_limits<int64_t>::min() + 1),
                          MakeEvent(2, 2, 40, 0)},
                         {}, {})
                .ok());
    clock.now_ms = 1'000;  // the cutoff (age line - max_age) is far before year 0000
    REQUIRE(store->Maintain().ok());
    CHECK(CounterOf(*store, "dropped.max_age") == 1);
    // The age line runs on the monotonic clock, which cannot reach INT64_MAX ms (steady_clock
    // counts nanoseconds); SatSub itself is tested at the extremes in common/sat_time_test.cc.
    clock.now_ms = 1'000 + kYear;
    REQUIRE(store->Maintain().ok());
    CHECK(CounterOf(*store, "dropped.max_age") == (max_age == kYear ? 2 : 1));
  }
}

TEST_CASE("max_events bounds the number of buffered records", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_events = 100});
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<Event> events;
    events.reserve(37);
    for (int i = 0; i < 37; ++i) events.push_back(MakeEvent(5, batch * 37 + i));
    REQUIRE(store->Append(events, {}, {}).ok());
    CHECK(store->Stats()->records <= 100);
  }
  CHECK(store->Stats()->records == 100);
  CHECK(CounterOf(*store, "dropped.max_events") == 370 - 100);
}

TEST_CASE("when_full block signals full at the high mark and resumes below the low mark",
          "[buffer]") {
  TempDir dir;
  auto store =
      OpenOrFail({.state_dir = dir.path(), .max_events = 100, .when_full = WhenFull::kBlock});
  std::vector<bool> calls;
  AppendPastBlockMark(*store, &calls);
  // Nothing dropped in block mode: what was staged is committed, past the mark.
  CHECK(store->Stats()->records == 120);
  CHECK(CounterOf(*store, "dropped.max_events") == 0);
  CHECK(store->full());
  CHECK(calls == std::vector<bool>{true});
  auto ack = [&](size_t n) {
    auto rows = store->ReadNext(n, 1 << 30);
    const BatchRange r = RangeOf("a" + std::to_string(rows->front().seq), *rows);
    REQUIRE(store->MarkInflight(r).ok());
    REQUIRE(store->Ack(r).ok());
  };
  ack(25);  // 95 left: below the high mark but above the low mark (90): still full
  CHECK(store->full());
  ack(10);  // 85
  CHECK_FALSE(store->full());
  CHECK(calls == std::vector<bool>{true, false});
  store->SetFullCallback({});
}

TEST_CASE("bounds set live are enforced at once and leaving block resumes ingest", "[buffer]") {
  TempDir dir;
  auto store =
      OpenOrFail({.state_dir = dir.path(), .max_events = 100, .when_full = WhenFull::kBlock});
  std::vector<bool> calls;
  AppendPastBlockMark(*store, &calls);
  REQUIRE(store->full());
  SECTION("a raised bound under block resumes below its low mark") {
    REQUIRE(store->SetBounds({.max_events = 1000, .when_full = WhenFull::kBlock}).ok());
    CHECK_FALSE(store->full());
    CHECK(store->Stats()->records == 120);  // a raised bound touches nothing buffered
    CHECK(calls == std::vector<bool>{true, false});
  }
  SECTION("drop_oldest with a lower bound drops the oldest now, no event needed") {
    REQUIRE(store->SetBounds({.max_events = 50, .when_full = WhenFull::kDropOldest}).ok());
    CHECK_FALSE(store->full());
    CHECK(calls == std::vector<bool>{true, false});
    CHECK(store->Stats()->records == 50);
    CHECK(CounterOf(*store, "dropped.max_events") == 70);
    CHECK(Remaining(*store).front().second == "e70");  // the newest 50 are kept
  }
  SECTION("max_bytes follows into the budget that stats report") {
    const uint64_t before = store->Stats()->data_budget_bytes;
    REQUIRE(store->SetBounds({.max_bytes = 64ull << 20, .max_events = 1000}).ok());
    CHECK(store->Stats()->data_budget_bytes == StoreLimits::For(64ull << 20).data_bytes);
    CHECK(store->Stats()->data_budget_bytes != before);
  }
  store->SetFullCallback({});
}

TEST_CASE("persisted dedup keys are bounded by count and expire by time", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  const uint64_t cap = store->limits().max_dedup_keys;
  REQUIRE(cap > 0);
  REQUIRE(cap < 20'000);
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 500; ++i) {
      Event e = MakeEvent(5, i, 1);
      e.dedup_key = static_cast<uint64_t>(batch) * 500 + static_cast<uint64_t>(i) + 1;
      e.dedup_expires_ms = clock.now_ms + 600'000 + batch;
      e.store = false;  // keys only
      events.push_back(std::move(e));
    }
    REQUIRE(store->Append(events, {}, {}).ok());
  }
  auto keys = store->LoadDedupKeys(clock.now_ms);
  REQUIRE(keys.ok());
  std::fprintf(stderr, "dedup keys: cap %llu, kept %zu of 20000, trimmed %lld\n",
               static_cast<unsigned long long>(cap), keys->size(),
               static_cast<long long>(CounterOf(*store, "dedup_keys_trimmed")));
  CHECK(keys->size() <= cap);
  CHECK(keys->size() >= cap * 8 / 10);
  CHECK(keys->back().first == 20'000);  // the newest are kept
  CHECK(CounterOf(*store, "dedup_keys_trimmed") == static_cast<int64_t>(20'000 - keys->size()));
  clock.now_ms += 700'000;
  REQUIRE(store->Maintain().ok());
  CHECK(store->LoadDedupKeys(0)->empty());
}

TEST_CASE("sync normal and full set the synchronous pragma in effect", "[buffer]") {
  TempDir dir;
  auto [mode, expected] = GENERATE(std::make_pair(tidegate::SyncMode::kNormal, 1),
                                   std::make_pair(tidegate::SyncMode::kFull, 2));
  auto store = OpenOrFail({.state_dir = dir.path(), .sync = mode});
  CHECK(*store->PragmaInt("synchronous") == expected);
  std::fprintf(stderr, "sync: PRAGMA synchronous = %lld\n",
               static_cast<long long>(*store->PragmaInt("synchronous")));
}

TEST_CASE("a quarantined database is reported and counted in the fresh one", "[buffer]") {
  TempDir dir;
  {
    FILE* f = std::fopen((dir.path() + "/buffer.db").c_str(), "w");
    std::fputs(std::string(10000, 'g').c_str(), f);
    std::fclose(f);
  }
  auto store = OpenOrFail({.state_dir = dir.path()});
  CHECK(store->quarantined().find("buffer.db.corrupt-") != std::string::npos);
  CHECK(CounterOf(*store, "buffer.quarantined") == 1);
}

// An acknowledged batch's rows need not be neighbours: alarms arrive one in 16 events, so a
// batch of them has a row on every page of its seq range. Ack deletes a batch in chunks of
// seqs (not of rows), so no transaction of it writes more pages to the WAL than a commit's
// headroom (StoreLimits), which store_limits.h reserves for it.
TEST_CASE("acknowledging a batch spread over many pages keeps the WAL within its bound",
          "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  const StoreLimits& limits = store->limits();
  int n = 0;
  // Commits of 32 events, about what GroupCommitter stages at this bound (16 KiB).
  for (int round = 0; round < 40; ++round) {
    std::vector<Event> events;
    for (int i = 0; i < 32; ++i) {
      events.push_back(MakeEvent(n % 16 == 0 ? 8 : 2, n, 250, clock.now_ms));
      ++n;
    }
    REQUIRE(store->Append(events, {}, {}).ok());
  }
  auto rows = store->ReadNext(1000, 1 << 20);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() > 64);
  REQUIRE(rows->front().event.priority == 8);
  const BatchRange batch = RangeOf("alarms", *rows);
  REQUIRE(store->MarkInflight(batch).ok());
  const uint64_t before = store->Stats()->max_transaction_wal_bytes;
  REQUIRE(store->Ack(batch).ok());
  const uint64_t largest = store->Stats()->max_transaction_wal_bytes;
  std::fprintf(stderr,
               "spread ack: %zu alarms over seqs %llu-%llu acknowledged; largest transaction "
               "%llu WAL bytes (appends %llu; a commit's headroom %llu)\n",
               rows->size(), static_cast<unsigned long long>(batch.first_seq),
               static_cast<unsigned long long>(batch.last_seq),
               static_cast<unsigned long long>(largest), static_cast<unsigned long long>(before),
               static_cast<unsigned long long>(limits.commit_headroom_bytes));
  CHECK(before <= limits.commit_headroom_bytes);
  CHECK(largest <= limits.commit_headroom_bytes);
  CHECK(store->ReadRange(kAllAlarms)->empty());
}

namespace {

// One commit as GroupCommitter stages it at max_bytes 1 MiB (16 KiB): 54 records of about
// 300 bytes, records *n on, the first 7 window results (priority 9, one per device), the raw
// events an alarm (priority 8) in 16, and with dedup_keys a dedup key for each record.
std::vector<Event> MixedCommit(int* n, int64_t now_ms, bool dedup_keys) {
  std::vector<Event> records;
  for (int i = 0; i < 54; ++i, ++*n) {
    Event e = MakeEvent(*n % 16 == 0 ? 8 : 2, *n, 250, now_ms);
    if (i < 7) {
      e.kind = RecordKind::kWindowResult;
      e.priority = 9;
    }
    if (dedup_keys) {
      e.dedup_key = static_cast<uint64_t>(*n) + 1;
      e.dedup_expires_ms = now_ms + 600'000;
    }
    records.push_back(std::move(e));
  }
  return records;
}

// Appends one MixedCommit with dedup keys at the clock's time, then moves the clock 10 ms on.
// Returns the alarms (priority 8) it held.
int AppendMixed(SqliteStore& store, FakeClock& clock, int* n) {
  std::vector<Event> records = MixedCommit(n, clock.now_ms, /*dedup_keys=*/true);
  int alarms = 0;
  for (const Event& e : records) alarms += e.priority == 8 ? 1 : 0;
  clock.now_ms += 10;
  REQUIRE(store.Append(records, {}, {}).ok());
  return alarms;
}

}  // namespace

// Once the raw events ranked lowest are gone, drop_oldest takes the alarms that sit one per
// page among the window results it keeps: each such drop dirties a page of its own. Done in
// the commit, that grew one transaction's WAL to 430,080 bytes (105 pages) against the
// 196,608 reserved for it. The drops now spend at most delete_chunk_bytes of pages per
// transaction, and go on in transactions of their own after the commit.
TEST_CASE("a full drop_oldest buffer keeps each transaction's WAL within its bound", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  constexpr uint64_t kMaxBytes = 1 << 20;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = kMaxBytes, .clock = &clock});
  const StoreLimits& limits = store->limits();
  uint64_t max_disk = 0, max_used = 0;
  int n = 0, alarms = 0;
  for (int round = 0; round < 200; ++round) {
    alarms += AppendMixed(*store, clock, &n);
    max_disk = std::max(max_disk, DiskBytes(store->path()));
    max_used = std::max(max_used, store->Stats()->used_bytes);
  }
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  std::fprintf(
      stderr,
      "full drop_oldest: largest transaction %llu WAL bytes (bound %llu), max db+wal "
      "%llu of %llu, max used %llu of %llu; dropped %lld raw, %lld results\n",
      static_cast<unsigned long long>(stats->max_transaction_wal_bytes),
      static_cast<unsigned long long>(limits.transaction_wal_bytes),
      static_cast<unsigned long long>(max_disk), static_cast<unsigned long long>(kMaxBytes),
      static_cast<unsigned long long>(max_used), static_cast<unsigned long long>(limits.data_bytes),
      static_cast<long long>(CounterOf(*store, "dropped.buffer_full")),
      static_cast<long long>(CounterOf(*store, "dropped_window_results.buffer_full")));
  // The scattered case was reached: alarms, which rank above the other raw events, were
  // dropped too.
  CHECK(store->ReadRange(kAllAlarms)->size() < static_cast<size_t>(alarms) / 2);
  CHECK(stats->max_transaction_wal_bytes <= limits.transaction_wal_bytes);
  CHECK(max_used <= limits.data_bytes);
  CHECK(max_disk <= kMaxBytes);
}

// The drops that run out of one transaction's page budget go on after the commit in
// transactions of their own (DeleteInChunks); those must skip batches in flight exactly as
// the commit's own drops do. The oldest alarms, the next to be dropped once the raw events
// ranked lowest are gone, are put in flight; the buffer is then flooded until alarms are
// dropped in more transactions than one per Append.
TEST_CASE("the drops after a commit never take a batch in flight", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  const uint64_t page_size = static_cast<uint64_t>(*store->PragmaInt("page_size"));
  const uint64_t pages_per_transaction = store->limits().delete_chunk_bytes / page_size;
  int n = 0;
  size_t alarms_added = 0;
  auto append = [&] {  // returns the alarms this Append dropped
    const size_t before = store->ReadRange(kAllAlarms)->size();
    const auto added = static_cast<size_t>(AppendMixed(*store, clock, &n));
    alarms_added += added;
    return before + added - store->ReadRange(kAllAlarms)->size();
  };
  while (CounterOf(*store, "dropped.buffer_full") == 0) append();
  auto alarms = store->ReadRange(kAllAlarms);
  REQUIRE(alarms->size() >= 20);
  alarms->resize(20);
  const BatchRange inflight = RangeOf("oldest-alarms", *alarms);
  REQUIRE(store->MarkInflight(inflight).ok());
  alarms_added = 0;
  size_t most_in_one_append = 0;
  for (int round = 0; round < 150; ++round) {
    most_in_one_append = std::max(most_in_one_append, append());
  }
  const std::vector<BufferedRecord> left = *store->ReadRange(kAllAlarms);
  const auto kept_in_flight =
      static_cast<size_t>(std::count_if(left.begin(), left.end(), [&](const BufferedRecord& r) {
        return r.seq <= inflight.last_seq;
      }));
  const size_t later_left = left.size() - kept_in_flight;
  std::fprintf(stderr,
               "drops in chunks: most alarms dropped by one Append %zu (one transaction: %llu "
               "pages); in flight kept %zu of 20; later alarms kept %zu of %zu\n",
               most_in_one_append, static_cast<unsigned long long>(pages_per_transaction),
               kept_in_flight, later_left, alarms_added);
  // Scattered alarms cost a page each: more than one transaction's pages in one Append
  // means DeleteInChunks dropped some.
  CHECK(most_in_one_append > pages_per_transaction);
  CHECK(later_left < alarms_added);  // the drops went past the range in flight
  CHECK(kept_in_flight == 20);
  CHECK(store->ReadRange(inflight)->size() == 20);
  tidegate::buffer::testing::CheckRecordCount(*store);
}

// A delete chunk after the commit can fail (a full disk, an I/O error): the Append that
// committed its records still succeeds, the buffer stays over its data budget for the
// moment, and the next commit drops what is left. The disk bound holds throughout.
TEST_CASE("a delete chunk that fails leaves its drops to the next commit", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  constexpr uint64_t kMaxBytes = 1 << 20;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = kMaxBytes, .clock = &clock});
  const uint64_t data_bytes = store->limits().data_bytes;
  int n = 0, alarms = 0;
  uint64_t max_disk = 0;
  auto append = [&] {
    alarms += AppendMixed(*store, clock, &n);
    max_disk = std::max(max_disk, DiskBytes(store->path()));
  };
  // Fill until the drops reach the alarms, which sit one per page: from then on an Append's
  // drops run past its own transaction into chunks.
  while (store->ReadRange(kAllAlarms)->size() + 40 > static_cast<size_t>(alarms)) append();
  int commits = 0;
  store->SetCommitFault([&] { return ++commits == 2; });  // the Append's commit, then a chunk
  append();
  store->SetCommitFault(nullptr);
  const uint64_t used_after_failure = store->Stats()->used_bytes;
  const int64_t dropped_after_failure = CounterOf(*store, "dropped.buffer_full");
  append();
  const uint64_t used_after_next = store->Stats()->used_bytes;
  std::fprintf(
      stderr,
      "failed delete chunk: commits tried %d; used %llu then %llu after the next commit "
      "(data budget %llu); dropped %lld then %lld; max db+wal %llu of %llu\n",
      commits, static_cast<unsigned long long>(used_after_failure),
      static_cast<unsigned long long>(used_after_next), static_cast<unsigned long long>(data_bytes),
      static_cast<long long>(dropped_after_failure),
      static_cast<long long>(CounterOf(*store, "dropped.buffer_full")),
      static_cast<unsigned long long>(max_disk), static_cast<unsigned long long>(kMaxBytes));
  CHECK(commits == 2);                     // the chunk was tried and failed
  CHECK(used_after_failure > data_bytes);  // its drops were not made
  CHECK(used_after_next <= data_bytes);    // the next commit made them
  CHECK(CounterOf(*store, "dropped.buffer_full") > dropped_after_failure);
  tidegate::buffer::testing::CheckRecordCount(*store);
  CHECK(max_disk <= kMaxBytes);
}

// A reader that keeps its snapshot makes the checkpoint after a commit fail; the next write
// must not grow the WAL past the bound: it waits for the reader (SettleWal) and checkpoints
// first, so the WAL file does not grow (without SettleWal: 65,952 bytes before, 94,792
// after).
TEST_CASE("a checkpoint a reader blocked is completed before the next write", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  int n = 0;
  auto append = [&](int count) {
    std::vector<Event> events;
    for (int i = 0; i < count; ++i, ++n) events.push_back(MakeEvent(2, n, 250, clock.now_ms));
    REQUIRE(store->Append(events, {}, {}).ok());
  };
  append(10);
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(store->path().c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM events;", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  // Commits past the checkpoint threshold: the first check after one fails (200 ms).
  for (int i = 0; i < 100 && store->Stats()->checkpoint_failures == 0; ++i) append(32);
  REQUIRE(store->Stats()->checkpoint_failures == 1);
  REQUIRE(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(reader);
  const auto wal_before = std::filesystem::file_size(store->path() + "-wal");
  const uint64_t checkpoints = store->Stats()->checkpoints;
  append(32);
  const auto wal_after = std::filesystem::file_size(store->path() + "-wal");
  std::fprintf(stderr, "blocked checkpoint: WAL %llu bytes before the next commit, %llu after\n",
               static_cast<unsigned long long>(wal_before),
               static_cast<unsigned long long>(wal_after));
  CHECK(store->Stats()->checkpoints == checkpoints + 1);
  CHECK(store->Stats()->checkpoint_failures == 1);
  CHECK(wal_after <= wal_before);
}

// A smaller max_age pushed by a remote config expires most of a full buffer at once: done in
// one transaction, that wrote the freed pages of the whole buffer to the WAL. Expiry spends
// the same page budget as the drops and goes on in transactions of its own.
TEST_CASE("expiring a whole buffer at once keeps each transaction's WAL within its bound",
          "[buffer]") {
  TempDir dir;
  FakeClock clock;
  constexpr uint64_t kMaxBytes = 1 << 20;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = kMaxBytes, .clock = &clock});
  const StoreLimits& limits = store->limits();
  int n = 0;
  for (int round = 0; round < 80; ++round) {
    // The window results stay: max_age expires raw events only.
    std::vector<Event> records = MixedCommit(&n, clock.now_ms, /*dedup_keys=*/false);
    clock.now_ms += 10;
    REQUIRE(store->Append(records, {}, {}).ok());
  }
  const auto buffered = static_cast<int64_t>(store->Stats()->records);
  const uint64_t before = store->Stats()->max_transaction_wal_bytes;
  clock.now_ms += 60'000;
  REQUIRE(store->SetBounds({.max_bytes = kMaxBytes, .max_age = Millis(30'000)}).ok());
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  const int64_t expired = CounterOf(*store, "dropped.max_age");
  std::fprintf(stderr,
               "expire all: %lld of %lld records expired; largest transaction %llu WAL bytes "
               "(appends %llu, bound %llu), db+wal %llu\n",
               static_cast<long long>(expired), static_cast<long long>(buffered),
               static_cast<unsigned long long>(stats->max_transaction_wal_bytes),
               static_cast<unsigned long long>(before),
               static_cast<unsigned long long>(limits.transaction_wal_bytes),
               static_cast<unsigned long long>(DiskBytes(store->path())));
  CHECK(expired > 0);
  CHECK(static_cast<int64_t>(stats->records) == buffered - expired);
  CHECK(Remaining(*store).size() == static_cast<size_t>(stats->records));
  for (const auto& [priority, id] : Remaining(*store)) CHECK(id[0] == 'w');  // results only
  tidegate::buffer::testing::CheckRecordCount(*store);
  CHECK(stats->max_transaction_wal_bytes <= limits.transaction_wal_bytes);
  CHECK(DiskBytes(store->path()) <= kMaxBytes);
}

// Priority 0 is the lowest a topic can have: its raw events are the first dropped and the first
// to expire, as any other priority's.
TEST_CASE("priority 0's raw events are dropped and expired like any other's", "[buffer]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail(
      {.state_dir = dir.path(), .max_events = 3, .max_age = Millis(60'000), .clock = &clock});
  const int64_t t0 = clock.now_ms;
  REQUIRE(store
              ->Append({MakeEvent(0, 1, 40, t0), MakeEvent(1, 2, 40, t0), MakeEvent(0, 3, 40, t0)},
                       {}, {})
              .ok());
  REQUIRE(store->Append({MakeEvent(1, 4, 40, t0 + 30'000)}, {}, {}).ok());
  using V = std::vector<std::pair<int, std::string>>;
  CHECK(Remaining(*store) == V{{1, "e2"}, {1, "e4"}, {0, "e3"}});  // the oldest of priority 0
  CHECK(CounterOf(*store, "dropped.max_events") == 1);
  clock.now_ms = t0 + 61'000;
  REQUIRE(store->Maintain().ok());
  CHECK(Remaining(*store) == V{{1, "e4"}});
  CHECK(CounterOf(*store, "dropped.max_age") == 2);
  tidegate::buffer::testing::CheckRecordCount(*store);
}
