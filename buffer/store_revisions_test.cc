// SPDX-License-Identifier: Apache-2.0
// Window revisions in the buffer: a new revision of a window deletes the unsent lower ones
// (not those in flight or just read), only of that window, and counts them; revisions can no
// longer fill a small buffer and crowd out the raw events ranked below them.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "buffer/schema.h"
#include "buffer/sqlite_store.h"
#include "buffer/sqlite_util.h"
#include "buffer/store_test_helpers.h"
#include "common/window_result.h"
#include "tests/support/temp_dir.h"

namespace {

using tidegate::Event;
using tidegate::kWindowResultPriority;
using tidegate::RecordKind;
using tidegate::buffer::BatchRange;
using tidegate::buffer::BufferedRecord;
using tidegate::buffer::SqliteStore;
using tidegate::buffer::StoreOptions;
using tidegate::buffer::testing::CounterOf;
using tidegate::buffer::testing::OpenOrFail;
using tidegate::buffer::testing::RangeOf;
using tidegate::testing::TempDir;

// A window result as the aggregator buffers it: the aggregation's name in topic, the group
// key in device_id, window_start in event_time, the encoded result as payload.
Event Revision(const std::string& name, const std::string& group, int64_t start, int revision,
               size_t pad = 0) {
  tidegate::WindowResult r;
  r.name = name;
  r.group_key = group;
  r.window_start = start;
  r.window_end = start + 10'000;
  r.revision = static_cast<uint32_t>(revision);
  r.measures = {{"/temp" + std::string(pad, ' '), {{"count", 1}}}};
  Event e;
  e.kind = RecordKind::kWindowResult;
  e.priority = kWindowResultPriority;
  e.topic = name;
  e.device_id = group;
  e.event_time_ms = start;
  e.ingest_time_ms = 1;
  e.payload = tidegate::EncodeWindowResult(r);
  return e;
}

Event Alarm(int n, size_t pad) {
  Event e;
  e.topic = "devices/d" + std::to_string(n % 5) + "/alarms";
  e.device_id = "d" + std::to_string(n % 5);
  e.event_time_ms = n;
  e.ingest_time_ms = 1;
  e.priority = 8;
  e.payload = "a" + std::to_string(n) + std::string(pad, ' ');
  return e;
}

// What is buffered at `priority`, in seq order: "name/group/start/rN" for window results,
// the payload up to its padding for raw events.
std::vector<std::string> Buffered(SqliteStore& store, int priority) {
  BatchRange all{.batch_id = "x", .priority = priority, .first_seq = 0, .last_seq = 1ull << 62};
  auto rows = store.ReadRange(all);
  REQUIRE(rows.ok());
  std::vector<std::string> out;
  for (const BufferedRecord& r : *rows) {
    if (r.event.kind == RecordKind::kEvent) {
      out.push_back(r.event.payload.substr(0, r.event.payload.find(' ')));
      continue;
    }
    auto w = tidegate::DecodeWindowResult(r.event.payload);
    if (!w.ok()) {
      out.push_back("undecodable");
      continue;
    }
    out.push_back(w->name + "/" + w->group_key + "/" + std::to_string(w->window_start) + "/r" +
                  std::to_string(w->revision));
  }
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("a new window revision replaces the unsent older revisions of its window only",
          "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path()});
  // The same topic, device and event time as window t/g1/0, but a raw event: never touched.
  Event raw = Alarm(0, 0);
  raw.topic = "t";
  raw.device_id = "g1";
  raw.payload = "raw";
  REQUIRE(store
              ->Append({Revision("t", "g1", 0, 0), Revision("t", "g2", 0, 0),
                        Revision("t", "g1", 10, 0), Revision("u", "g1", 0, 0), raw},
                       {}, {})
              .ok());
  REQUIRE(store->Append({Revision("t", "g1", 0, 1)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) ==
        Strings{"t/g2/0/r0", "t/g1/10/r0", "u/g1/0/r0", "t/g1/0/r1"});
  CHECK(Buffered(*store, 8) == Strings{"raw"});
  CHECK(CounterOf(*store, "window_results_superseded") == 1);
  // Two revisions in one commit: only the later one stays.
  REQUIRE(store->Append({Revision("t", "g1", 0, 2), Revision("t", "g1", 0, 3)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) ==
        Strings{"t/g2/0/r0", "t/g1/10/r0", "u/g1/0/r0", "t/g1/0/r3"});
  CHECK(CounterOf(*store, "window_results_superseded") == 3);
  CHECK(CounterOf(*store, "dropped_window_results.buffer_full") == 0);
  CHECK(store->Stats()->records == 5);
  // A restart keeps the count and the behaviour.
  store.reset();
  store = OpenOrFail({.state_dir = dir.path()});
  CHECK(store->Stats()->records == 5);
  REQUIRE(store->Append({Revision("t", "g2", 0, 1)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) ==
        Strings{"t/g1/10/r0", "u/g1/0/r0", "t/g1/0/r3", "t/g2/0/r1"});
  CHECK(CounterOf(*store, "window_results_superseded") == 4);
  CHECK(store->Stats()->records == 5);
  tidegate::buffer::testing::CheckRecordCount(*store);
}

TEST_CASE("only a higher revision replaces a buffered one", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path()});
  REQUIRE(store->Append({Revision("t", "g", 0, 3)}, {}, {}).ok());
  // A reconfigured aggregation starts its windows again at revision 0: what the old
  // configuration counted stays, as the receiver (which keeps the highest revision) keeps it.
  REQUIRE(store->Append({Revision("t", "g", 0, 0)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) == Strings{"t/g/0/r3", "t/g/0/r0"});
  // An equal revision replaces nothing either; a higher one replaces every lower one.
  REQUIRE(store->Append({Revision("t", "g", 0, 3)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) == Strings{"t/g/0/r3", "t/g/0/r3"});
  // A record whose bytes went bad is left alone (the uplink reports it), not deleted.
  Event bad = Revision("t", "g", 0, 1);
  bad.payload = "not a window result";
  REQUIRE(store->Append({bad}, {}, {}).ok());
  REQUIRE(store->Append({Revision("t", "g", 0, 4)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) == Strings{"undecodable", "t/g/0/r4"});
  CHECK(CounterOf(*store, "window_results_superseded") == 3);
}

TEST_CASE("a window revision in flight or just read is kept until acknowledged", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path()});
  REQUIRE(store->Append({Revision("t", "g", 0, 0)}, {}, {}).ok());
  auto read = store->ReadNext(10, 1 << 20);
  REQUIRE(read.ok());
  REQUIRE(read->size() == 1);
  // Revision 1 arrives while revision 0 is being encoded: the batch keeps its record.
  REQUIRE(store->Append({Revision("t", "g", 0, 1)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) == Strings{"t/g/0/r0", "t/g/0/r1"});
  const BatchRange first = RangeOf("b1", *read);
  REQUIRE(store->MarkInflight(first).ok());
  // Revision 2 replaces revision 1 (unsent), not revision 0 (in flight).
  REQUIRE(store->Append({Revision("t", "g", 0, 2)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) == Strings{"t/g/0/r0", "t/g/0/r2"});
  CHECK(CounterOf(*store, "window_results_superseded") == 1);
  CHECK(store->ReadRange(first)->size() == 1);
  // Acknowledged, revision 0 goes; the next batch carries only the latest revision.
  REQUIRE(store->Ack(first).ok());
  auto next = store->ReadNext(10, 1 << 20);
  REQUIRE(next.ok());
  REQUIRE(next->size() == 1);
  CHECK(tidegate::DecodeWindowResult(next->front().event.payload)->revision == 2);
}

// The flaky e2e drop_oldest case, made deterministic: under CPU starvation windows closed
// by idle_timeout and were revised by every late slice of events; each revision took a row
// ranked above every topic, so a 1 MiB buffer filled with copies and dropped alarms.
TEST_CASE("window revisions cannot crowd alarms out of a full buffer", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path(),
                           .max_bytes = 1 << 20,
                           .when_full = tidegate::WhenFull::kDropOldest});
  constexpr int kRounds = 200, kWindows = 20, kAlarmsPerRound = 4;
  int alarms = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Event> records;
    for (int i = 0; i < kAlarmsPerRound; ++i) records.push_back(Alarm(alarms++, 250));
    // Every window revised each round: 20 KB of results a round, 4 MB without superseding.
    for (int w = 0; w < kWindows; ++w) {
      records.push_back(Revision("temp_10s", "d" + std::to_string(w), 0, round, 1000));
    }
    REQUIRE(store->Append(records, {}, {}).ok());
  }
  const int64_t superseded = CounterOf(*store, "window_results_superseded");
  const int64_t dropped = CounterOf(*store, "dropped.buffer_full");
  std::fprintf(stderr,
               "window revisions: %d alarms, %d revisions of %d windows; buffered %lld records, "
               "superseded %lld, dropped %lld raw and %lld window results\n",
               alarms, kRounds * kWindows, kWindows,
               static_cast<long long>(store->Stats()->records), static_cast<long long>(superseded),
               static_cast<long long>(dropped),
               static_cast<long long>(CounterOf(*store, "dropped_window_results.buffer_full")));
  CHECK(dropped == 0);
  CHECK(CounterOf(*store, "dropped_window_results.buffer_full") == 0);
  CHECK(Buffered(*store, 8).size() == static_cast<size_t>(alarms));
  const Strings results = Buffered(*store, kWindowResultPriority);
  REQUIRE(results.size() == static_cast<size_t>(kWindows));
  for (const std::string& r : results) CHECK(r.substr(r.size() - 4) == "r199");
  CHECK(superseded == int64_t{kRounds - 1} * kWindows);
}

// Superseding deletes rows where earlier commits put them: a window whose last revision is
// old sits on an old page, so a commit that revises many such windows dirties a page each.
// Rounds 0-49 revise one window each; every 50th round then revises all 50, whose previous
// revisions lie on 50 different commits' pages. The database and WAL must stay within
// max_bytes like any commit (StoreLimits' headroom), with raw events filling the buffer.
TEST_CASE("superseding revisions on old pages keeps the database and WAL within max_bytes",
          "[buffer]") {
  TempDir dir;
  constexpr uint64_t kMaxBytes = 1 << 20;
  auto store = OpenOrFail({.state_dir = dir.path(),
                           .max_bytes = kMaxBytes,
                           .when_full = tidegate::WhenFull::kDropOldest});
  const tidegate::buffer::StoreLimits& limits = store->limits();
  constexpr int kWindows = 50;
  std::vector<int> revision(kWindows, 0);
  uint64_t max_disk = 0, max_wal = 0;
  int raw = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<Event> records;
    for (int i = 0; i < 40; ++i) {
      Event e = Alarm(raw++, 250);
      e.priority = 2;
      records.push_back(std::move(e));
    }
    for (int w = 0; w < kWindows; ++w) {
      if (round % kWindows != w && round % kWindows != kWindows - 1) continue;
      records.push_back(Revision("temp_10s", "d" + std::to_string(w), 0, revision[w]++, 100));
    }
    REQUIRE(store->Append(records, {}, {}).ok());
    max_disk = std::max(max_disk, tidegate::buffer::testing::DiskBytes(store->path()));
    std::error_code ec;
    const auto wal = std::filesystem::file_size(store->path() + "-wal", ec);
    max_wal = std::max<uint64_t>(max_wal, ec ? 0 : wal);
  }
  std::fprintf(stderr,
               "revisions on old pages: max db+wal %llu of %llu, max wal %llu (checkpoint at %llu, "
               "commit headroom %llu); superseded %lld, dropped %lld raw\n",
               static_cast<unsigned long long>(max_disk),
               static_cast<unsigned long long>(kMaxBytes), static_cast<unsigned long long>(max_wal),
               static_cast<unsigned long long>(limits.wal_checkpoint_bytes),
               static_cast<unsigned long long>(limits.commit_headroom_bytes),
               static_cast<long long>(CounterOf(*store, "window_results_superseded")),
               static_cast<long long>(CounterOf(*store, "dropped.buffer_full")));
  CHECK(CounterOf(*store, "dropped.buffer_full") > 0);  // the buffer was full
  CHECK(max_disk <= kMaxBytes);
  CHECK(max_wal <= limits.wal_checkpoint_bytes + limits.transaction_wal_bytes);
  CHECK(Buffered(*store, kWindowResultPriority).size() == static_cast<size_t>(kWindows));
}

namespace {

// Rows of window_keys, read through a connection of the test's own.
int64_t WindowKeyRows(const std::string& db_path) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  const tidegate::buffer::DbHandle db(raw);
  auto count = tidegate::buffer::Stmt::Prepare(raw, "SELECT count(*) FROM window_keys");
  REQUIRE(count.ok());
  auto row = count->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return count->Int(0);
}

}  // namespace

TEST_CASE("window_keys follows the window results it names", "[buffer]") {
  TempDir dir;
  auto store = OpenOrFail({.state_dir = dir.path()});
  REQUIRE(store->Append({Revision("t", "a", 0, 0), Revision("t", "b", 0, 0), Alarm(1, 0)}, {}, {})
              .ok());
  CHECK(WindowKeyRows(store->path()) == 2);
  // Acknowledged: their keys go with them, not the raw event's neighbours.
  auto read = store->ReadNext(10, 1 << 20);
  REQUIRE(read->size() == 2);
  const BatchRange batch = RangeOf("b1", *read);
  REQUIRE(store->MarkInflight(batch).ok());
  REQUIRE(store->Ack(batch).ok());
  CHECK(WindowKeyRows(store->path()) == 0);
  // Superseded: the replaced revision's key goes too.
  REQUIRE(store->Append({Revision("t", "c", 0, 0)}, {}, {}).ok());
  REQUIRE(store->Append({Revision("t", "c", 0, 1)}, {}, {}).ok());
  CHECK(WindowKeyRows(store->path()) == 1);
  // Dropped by max_events (4 records: the alarm goes first, then the oldest results).
  REQUIRE(store->SetBounds({.max_events = 4}).ok());
  REQUIRE(store
              ->Append({Revision("t", "d", 0, 0), Revision("t", "e", 0, 0),
                        Revision("t", "f", 0, 0), Revision("t", "g", 0, 0)},
                       {}, {})
              .ok());
  CHECK(CounterOf(*store, "dropped_window_results.max_events") == 1);
  CHECK(store->Stats()->records == 4);
  CHECK(WindowKeyRows(store->path()) == 4);
  CHECK(Buffered(*store, kWindowResultPriority) ==
        Strings{"t/d/0/r0", "t/e/0/r0", "t/f/0/r0", "t/g/0/r0"});
}

// A database of schema version 5 (before window_keys) holding two revisions of one window:
// the upgrade indexes them, so the next revision still replaces both.
TEST_CASE("an upgraded buffer supersedes the revisions it held before the upgrade", "[buffer]") {
  TempDir dir;
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(dir.File("buffer.db").c_str(), &raw) == SQLITE_OK);
    tidegate::buffer::DbHandle db(raw);
    for (size_t v = 0; v < 5; ++v) {
      REQUIRE(tidegate::buffer::Exec(raw, tidegate::buffer::sql::kMigrations[v], "migrate").ok());
    }
    auto insert = tidegate::buffer::Stmt::Prepare(
        raw,
        "INSERT INTO events(seq, priority, kind, event_time, ingest_time, topic, device_id, flags,"
        " key_epoch, payload) VALUES(?1, 10, 1, 0, 1, 't', 'g', 0, 0, ?2)");
    REQUIRE(insert.ok());
    for (int revision = 0; revision < 2; ++revision) {
      const std::string payload = Revision("t", "g", 0, revision).payload;
      REQUIRE(insert->Bind(1, int64_t{revision + 1}).BindBlob(2, payload).Run().ok());
    }
    REQUIRE(tidegate::buffer::Exec(raw, "PRAGMA user_version=5", "set version").ok());
  }
  auto store = OpenOrFail({.state_dir = dir.path()});
  CHECK(WindowKeyRows(store->path()) == 2);
  REQUIRE(store->Append({Revision("t", "g", 0, 2)}, {}, {}).ok());
  CHECK(Buffered(*store, kWindowResultPriority) == Strings{"t/g/0/r2"});
  CHECK(CounterOf(*store, "window_results_superseded") == 2);
}
