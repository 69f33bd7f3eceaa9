// SPDX-License-Identifier: Apache-2.0
#include "buffer/sqlite_store.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "buffer/dedup_chunk.h"
#include "buffer/schema.h"
#include "buffer/store_test_helpers.h"
#include "tests/support/temp_dir.h"

namespace {

using tidegate::Event;
using tidegate::buffer::BatchRange;
using tidegate::buffer::DeadLetter;
using tidegate::buffer::SqliteStore;
using tidegate::buffer::StoreOptions;

using tidegate::testing::TempDir;

Event MakeEvent(int priority, int n) {
  Event e;
  e.topic = "devices/d" + std::to_string(n % 3) + "/telemetry";
  e.device_id = "d" + std::to_string(n % 3);
  e.event_time_ms = 1000 + n;
  e.ingest_time_ms = 2000 + n;
  e.priority = priority;
  e.payload = R"({"n":)" + std::to_string(n) + "}";
  return e;
}

std::unique_ptr<SqliteStore> OpenStore(const std::string& dir) {
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir});
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

BatchRange RangeOf(const std::vector<tidegate::buffer::BufferedRecord>& rows,
                   const std::string& id) {
  return BatchRange{.batch_id = id,
                    .priority = rows.front().event.priority,
                    .first_seq = rows.front().seq,
                    .last_seq = rows.back().seq,
                    .count = static_cast<uint32_t>(rows.size()),
                    .created_at_ms = 5};
}

}  // namespace

TEST_CASE("appended records are read back oldest first with every field", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events;
  events.reserve(5);
  for (int i = 0; i < 5; ++i) events.push_back(MakeEvent(5, i));
  REQUIRE(store->Append(events, {}, {}).ok());
  auto rows = store->ReadNext(3, 1 << 20);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].seq == 1);
  CHECK((*rows)[2].seq == 3);
  const Event& e = (*rows)[1].event;
  CHECK(e.topic == "devices/d1/telemetry");
  CHECK(e.device_id == "d1");
  CHECK(e.event_time_ms == 1001);
  CHECK(e.ingest_time_ms == 2001);
  CHECK(e.payload == R"({"n":1})");
}

// The uplink keeps one vector across reads (SqliteStore::ReadNext into a vector): a record
// read into a slot of it must carry nothing of the record that was there.
TEST_CASE("a read into a reused vector equals a fresh read", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<Event> events;
  for (int i = 0; i < 4; ++i) events.push_back(MakeEvent(5, i));
  events[1].schema_name = "telemetry";
  events[1].schema_version = 3;
  events[2].key_epoch = 7;
  events[2].flags = 1;
  REQUIRE(store->Append(events, {}, {}).ok());
  std::vector<tidegate::buffer::BufferedRecord> reused(6);
  for (auto& r : reused) {  // what a stale slot could hold, in every field
    r.seq = 99;
    r.event = MakeEvent(9, 123456);
    r.event.payload.assign(500, 'x');
    r.event.schema_name = "old-schema";
    r.event.schema_version = 8;
    r.event.dedup_key = 42;
    r.event.dedup_expires_ms = 43;
    r.event.store = false;
    r.event.age_ms = 44;
    r.event.kind = tidegate::RecordKind::kWindowResult;
  }
  REQUIRE(store->ReadNext(10, 1 << 20, &reused).ok());
  auto fresh = store->ReadNext(10, 1 << 20);
  REQUIRE(fresh.ok());
  REQUIRE(reused.size() == fresh->size());
  REQUIRE(reused.size() == 4);
  for (size_t i = 0; i < reused.size(); ++i) {
    const Event& a = reused[i].event;
    const Event& b = (*fresh)[i].event;
    CHECK(reused[i].seq == (*fresh)[i].seq);
    CHECK(a.topic == b.topic);
    CHECK(a.device_id == b.device_id);
    CHECK(a.event_time_ms == b.event_time_ms);
    CHECK(a.ingest_time_ms == b.ingest_time_ms);
    CHECK(a.age_ms == b.age_ms);
    CHECK(a.flags == b.flags);
    CHECK(a.priority == b.priority);
    CHECK(a.kind == b.kind);
    CHECK(a.key_epoch == b.key_epoch);
    CHECK(a.dedup_key == 0);
    CHECK(a.dedup_expires_ms == 0);
    CHECK(a.store);
    CHECK(a.schema_name == b.schema_name);
    CHECK(a.schema_version == b.schema_version);
    CHECK(a.payload == b.payload);
  }
  CHECK(reused[1].event.schema_name == "telemetry");
  CHECK(reused[2].event.key_epoch == 7);
  REQUIRE(store->ReadRange(RangeOf(*fresh, "b"), &reused).ok());
  CHECK(reused.size() == 4);
  CHECK(reused[3].event.payload == (*fresh)[3].event.payload);
}

TEST_CASE("higher priorities are read first", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(
      store->Append({MakeEvent(2, 0), MakeEvent(7, 1), MakeEvent(2, 2), MakeEvent(7, 3)}, {}, {})
          .ok());
  auto rows = store->ReadNext(10, 1 << 20);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].event.priority == 7);
  CHECK((*rows)[1].seq == 4);
}

TEST_CASE("max_bytes caps a read but never below one record", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Append({MakeEvent(5, 0), MakeEvent(5, 1), MakeEvent(5, 2)}, {}, {}).ok());
  CHECK(store->ReadNext(10, 1)->size() == 1);
  CHECK(store->ReadNext(10, 15)->size() == 2);
}

TEST_CASE("records are deleted only on ack, and in-flight batches survive reopen", "[buffer]") {
  TempDir dir;
  BatchRange range;
  {
    auto store = OpenStore(dir.path());
    std::vector<Event> events;
    events.reserve(10);
    for (int i = 0; i < 10; ++i) events.push_back(MakeEvent(5, i));
    REQUIRE(store->Append(events, {}, {}).ok());
    auto rows = store->ReadNext(4, 1 << 20);
    range = RangeOf(*rows, "batch-a");
    REQUIRE(store->MarkInflight(range).ok());
  }
  auto store = OpenStore(dir.path());
  auto inflight = store->LoadInflight();
  REQUIRE(inflight->size() == 1);
  CHECK((*inflight)[0].batch_id == "batch-a");
  CHECK((*inflight)[0].first_seq == range.first_seq);
  CHECK((*inflight)[0].last_seq == range.last_seq);
  CHECK((*inflight)[0].created_at_ms == 5);
  auto again = store->ReadRange((*inflight)[0]);
  REQUIRE(again->size() == 4);
  CHECK(again->front().event.payload == R"({"n":0})");
  REQUIRE(store->Ack((*inflight)[0]).ok());
  CHECK(store->LoadInflight()->empty());
  auto rest = store->ReadNext(100, 1 << 20);
  REQUIRE(rest->size() == 6);
  CHECK(rest->front().seq == 5);
  CHECK(store->Stats()->records == 6);
  tidegate::buffer::testing::CheckRecordCount(*store);
}

TEST_CASE("ReadNext skips batches in flight, then falls to a lower priority", "[buffer]") {
  TempDir dir;
  BatchRange first;
  {
    auto store = OpenStore(dir.path());
    std::vector<Event> events;
    for (int i = 0; i < 6; ++i) events.push_back(MakeEvent(7, i));
    for (int i = 6; i < 9; ++i) events.push_back(MakeEvent(2, i));
    REQUIRE(store->Append(events, {}, {}).ok());
    auto rows = store->ReadNext(4, 1 << 20);
    first = RangeOf(*rows, "batch-1");
    REQUIRE(store->MarkInflight(first).ok());
    // The next read continues after the batch in flight instead of repeating it.
    auto second = store->ReadNext(4, 1 << 20);
    REQUIRE(second->size() == 2);
    CHECK(second->front().seq == first.last_seq + 1);
    REQUIRE(store->MarkInflight(RangeOf(*second, "batch-2")).ok());
    // Priority 7 is all in flight: the lower priority is next, oldest first.
    auto third = store->ReadNext(10, 1 << 20);
    REQUIRE(third->size() == 3);
    CHECK(third->front().event.priority == 2);
    CHECK(third->front().seq == 7);
  }
  // After a restart the batches recorded in flight are still skipped (they are resent from
  // LoadInflight under their own ids), and acknowledging one frees nothing to read twice.
  auto store = OpenStore(dir.path());
  REQUIRE(store->LoadInflight()->size() == 2);
  CHECK(store->ReadNext(10, 1 << 20)->front().event.priority == 2);
  REQUIRE(store->Ack(first).ok());
  CHECK(store->ReadNext(10, 1 << 20)->front().seq == 7);
}

TEST_CASE("an acknowledged record leaves no trace of its payload in the database file",
          "[buffer]") {
  TempDir dir;
  const std::string marker = "retention-marker-7f3a9c";
  {
    auto store = OpenStore(dir.path());
    std::vector<Event> events;
    for (int i = 0; i < 200; ++i) {
      Event e = MakeEvent(5, i);
      e.payload = R"({"note":")" + marker + std::to_string(i) + R"("})";
      events.push_back(std::move(e));
    }
    REQUIRE(store->Append(events, {}, {}).ok());
    auto rows = store->ReadNext(1000, 1 << 20);
    REQUIRE(rows->size() == 200);
    const BatchRange range = RangeOf(*rows, "batch-gone");
    REQUIRE(store->MarkInflight(range).ok());
    REQUIRE(store->Ack(range).ok());
  }  // closing the last connection checkpoints the WAL into the file and removes it
  std::ifstream in(dir.path() + "/buffer.db", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(!bytes.empty());
  CHECK(bytes.find(marker) == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/buffer.db-wal"));
}

TEST_CASE("seqs are never reused, even after the buffer empties and reopens", "[buffer]") {
  TempDir dir;
  uint64_t last = 0;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Append({MakeEvent(5, 0), MakeEvent(5, 1)}, {}, {}).ok());
    auto rows = store->ReadNext(10, 1 << 20);
    last = rows->back().seq;
    REQUIRE(store->Ack(RangeOf(*rows, "b1")).ok());
  }
  auto store = OpenStore(dir.path());
  REQUIRE(store->Append({MakeEvent(5, 2)}, {}, {}).ok());
  CHECK(store->ReadNext(10, 1 << 20)->front().seq == last + 1);
}

TEST_CASE("a rejected batch is recorded and its records removed", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Append({MakeEvent(5, 0), MakeEvent(5, 1)}, {}, {}).ok());
  auto rows = store->ReadNext(10, 1 << 20);
  REQUIRE(store->Reject(RangeOf(*rows, "bad"), 400, "schema").ok());
  auto stats = store->Stats();
  CHECK(stats->records == 0);
  CHECK(stats->rejected_batches == 1);
  CHECK(stats->counters["batches_rejected"] == 1);
  tidegate::buffer::testing::CheckRecordCount(*store);
}

TEST_CASE("dead letters and counters are stored without payloads", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  DeadLetter dl{
      .time_ms = 7, .topic = "devices/x", .reason = "malformed_json", .size = 99, .detail = ""};
  REQUIRE(store->Append({}, {dl}, {{"dead_letter.malformed_json", 1}}).ok());
  auto stats = store->Stats();
  CHECK(stats->dead_letters == 1);
  CHECK(stats->counters["dead_letter.malformed_json"] == 1);
}

TEST_CASE("the buffer id is stable across reopen", "[buffer]") {
  TempDir dir;
  std::string id = OpenStore(dir.path())->buffer_id();
  CHECK(id.size() == 32);
  CHECK(OpenStore(dir.path())->buffer_id() == id);
}

TEST_CASE("a garbage or truncated database is quarantined and replaced", "[buffer]") {
  TempDir dir;
  std::string db_path = dir.path() + "/buffer.db";
  SECTION("garbage") { std::ofstream(db_path) << std::string(8192, 'x'); }
  SECTION("truncated") {
    {
      auto store = OpenStore(dir.path());
      std::vector<Event> events;
      events.reserve(2000);
      for (int i = 0; i < 2000; ++i) events.push_back(MakeEvent(5, i));
      REQUIRE(store->Append(events, {}, {}).ok());
      REQUIRE(store->Append(events, {}, {}).ok());
    }
    // Checkpointed on close; cut the file mid-page.
    std::filesystem::resize_file(db_path, std::filesystem::file_size(db_path) / 2 + 100);
  }
  std::string moved;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()}, &moved);
  REQUIRE(store.ok());
  CHECK_FALSE(moved.empty());
  CHECK(std::filesystem::exists(moved));
  CHECK((*store)->Stats()->records == 0);
  REQUIRE((*store)->Append({MakeEvent(5, 1)}, {}, {}).ok());
}

// A -wal file at open means the last run did not close the database (kill -9, crash, power
// cut): then the whole file is checked, and a torn page in the middle of the events is found.
TEST_CASE("after an unclean stop the whole file is checked", "[buffer]") {
  TempDir dir;
  const std::string db_path = dir.path() + "/buffer.db";
  {
    auto store = OpenStore(dir.path());
    std::vector<Event> events;
    events.reserve(4000);
    for (int i = 0; i < 4000; ++i) events.push_back(MakeEvent(5, i));
    REQUIRE(store->Append(events, {}, {}).ok());
  }
  REQUIRE_FALSE(std::filesystem::exists(db_path + "-wal"));  // closed cleanly
  const auto size = std::filesystem::file_size(db_path);
  {
    std::fstream file(db_path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
    file << std::string(4096, '\xff');
  }
  { std::ofstream wal(db_path + "-wal"); }  // what a crash leaves behind
  std::string moved;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()}, &moved);
  REQUIRE(store.ok());
  CHECK_FALSE(moved.empty());
  CHECK((*store)->Stats()->records == 0);
}

TEST_CASE("sealed key epochs are stored with records and found by epoch", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Event e = MakeEvent(5, 1);
  e.key_epoch = 77;
  REQUIRE(store
              ->Append({e}, {}, {},
                       {tidegate::buffer::SealedKeyEpoch{
                           .epoch = 77, .sealed = "S", .created_at_ms = 1}})
              .ok());
  CHECK(*store->SealedKeyOf(77) == "S");
  CHECK(store->SealedKeyOf(78).status().code() == tidegate::StatusCode::kNotFound);
  CHECK(store->ReadNext(1, 1 << 20)->front().event.key_epoch == 77);
}

// tests/data/buffer-v1.db: a database in the schema of the first release (v1, built with
// that release's kMigrations[0]) holding events of two priorities, an in-flight batch, a dead
// letter, a rejected batch, counters, dedup keys and a sealed key epoch. Opening it must
// migrate it to the current schema and keep every record and the seq sequence.
TEST_CASE("a release-1 database upgrades in place and keeps its records", "[buffer]") {
  TempDir dir;
  std::filesystem::copy_file(std::string(TG_SOURCE_DIR) + "/tests/data/buffer-v1.db",
                             dir.File("buffer.db"));
  std::string quarantined;
  auto store = SqliteStore::Open(StoreOptions{.state_dir = dir.path()}, &quarantined);
  REQUIRE(store.ok());
  CHECK(quarantined.empty());
  CHECK((*store)->buffer_id() == "5e1ec7ed0000000000000000000000a1");

  auto stats = (*store)->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->events == 4);
  CHECK(stats->oldest_ingest_ms == 1'764'000'000'100);
  // Version 4: rows from before it take their ingest time as age stamp (the age line of an
  // upgraded database starts at the wall clock).
  CHECK(stats->oldest_age_ms == 1'764'000'000'100);
  CHECK(stats->inflight_batches == 1);
  CHECK(stats->dead_letters == 1);
  CHECK(stats->rejected_batches == 1);
  CHECK(stats->counters["duplicates"] == 7);

  auto inflight = (*store)->LoadInflight();
  REQUIRE(inflight.ok());
  REQUIRE(inflight->size() == 1);
  CHECK((*inflight)[0].batch_id == "5e1ec7ed0000000000000000000000a1-100-101");
  auto resent = (*store)->ReadRange((*inflight)[0]);
  REQUIRE(resent.ok());
  CHECK(resent->size() == 2);
  for (const auto& r : *resent) CHECK(r.event.age_ms == r.event.ingest_time_ms);

  auto next = (*store)->ReadNext(10, 1 << 20);  // the alarm, priority 8, goes first
  REQUIRE(next.ok());
  REQUIRE(next->size() == 1);
  CHECK((*next)[0].seq == 102);

  auto keys = (*store)->LoadDedupKeys(1'764'000'000'000);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 1);  // the expired one is not loaded
  CHECK((*keys)[0].first == 1234567890123u);
  auto sealed = (*store)->SealedKeyOf(1);
  REQUIRE(sealed.ok());
  CHECK(*sealed == std::string("\x00\x11\x22\x33", 4));

  // New records continue the old seq sequence.
  Event e;
  e.topic = "t";
  e.device_id = "d";
  e.payload = "{}";
  REQUIRE((*store)->Append({e}, {}, {}).ok());
  BatchRange all;
  all.priority = 5;
  all.first_seq = 104;
  all.last_seq = 104;
  auto appended = (*store)->ReadRange(all);
  REQUIRE(appended.ok());
  CHECK(appended->size() == 1);

  // Version 5: upgraded rows passed no schema and their dead letters have no detail.
  for (const auto& r : *resent) {
    CHECK(r.event.schema_name.empty());
    CHECK(r.event.schema_version == 0);
  }
  REQUIRE((*store)
              ->Append({},
                       {DeadLetter{.time_ms = 1,
                                   .topic = "t",
                                   .reason = "schema_violation",
                                   .size = 3,
                                   .detail = "schema=s v1 path=/a rule=type want=number"}},
                       {})
              .ok());
  CHECK((*store)->Stats()->dead_letters == 2);
}

TEST_CASE("an event keeps the schema it passed, a dead letter its detail", "[buffer][schema]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Event e = MakeEvent(5, 0);
  e.schema_name = "thermo";
  e.schema_version = 3;
  Event plain = MakeEvent(5, 1);
  REQUIRE(store
              ->Append({e, plain},
                       {DeadLetter{.time_ms = 7,
                                   .topic = "devices/x",
                                   .reason = "schema_violation",
                                   .size = 9,
                                   .detail = "schema=thermo v3 path=/t rule=max"}},
                       {{"dead_letter.schema_violation", 1}})
              .ok());
  auto rows = store->ReadNext(10, 1 << 20);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].event.schema_name == "thermo");
  CHECK((*rows)[0].event.schema_version == 3);
  CHECK((*rows)[1].event.schema_name.empty());
  CHECK((*rows)[1].event.schema_version == 0);
  auto stats = store->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->dead_letters == 1);
}

TEST_CASE("OpenReadOnly creates nothing where there is no buffer", "[buffer][read-only]") {
  TempDir dir;
  const std::string state_dir = dir.path() + "/state";
  auto missing = SqliteStore::OpenReadOnly(state_dir);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == tidegate::StatusCode::kNotFound);
  CHECK(missing.status().message() ==
        "no buffer at " + state_dir + "/buffer.db (has the agent run with this state_dir?)");
  CHECK_FALSE(std::filesystem::exists(state_dir));
}

TEST_CASE("OpenReadOnly reads a buffer another connection is writing", "[buffer][read-only]") {
  TempDir dir;
  auto writer = OpenStore(dir.path());
  REQUIRE(writer->Append({MakeEvent(5, 0), MakeEvent(5, 1)}, {}, {{"dead_letter.x", 3}}).ok());
  auto reader = SqliteStore::OpenReadOnly(dir.path());
  INFO(reader.status().ToString());
  REQUIRE(reader.ok());
  CHECK((*reader)->buffer_id() == writer->buffer_id());
  auto stats = (*reader)->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->records == 2);
  CHECK(stats->events == 2);
  CHECK(stats->counters.at("dead_letter.x") == 3);
  // The writer carries on while the reader is open; a new reader sees the new rows.
  REQUIRE(writer->Append({MakeEvent(5, 2)}, {}, {}).ok());
  auto later = SqliteStore::OpenReadOnly(dir.path());
  REQUIRE(later.ok());
  CHECK((*later)->Stats()->events == 3);
}

TEST_CASE("OpenReadOnly names the schema version of a buffer no agent has upgraded yet",
          "[buffer][read-only]") {
  TempDir dir;
  std::filesystem::copy_file(std::string(TG_SOURCE_DIR) + "/tests/data/buffer-v1.db",
                             dir.File("buffer.db"));
  auto old = SqliteStore::OpenReadOnly(dir.path());
  REQUIRE_FALSE(old.ok());
  CHECK(old.status().code() == tidegate::StatusCode::kInvalidArgument);
  CHECK(old.status().message().find("has schema version 1, this tidegate reads ") !=
        std::string::npos);
  CHECK(old.status().message().find("start the agent once, which upgrades it") !=
        std::string::npos);
  // The agent upgrades it; then it reads.
  REQUIRE(OpenStore(dir.path()) != nullptr);
  auto upgraded = SqliteStore::OpenReadOnly(dir.path());
  INFO(upgraded.status().ToString());
  REQUIRE(upgraded.ok());
  CHECK((*upgraded)->Stats()->events == 4);
}

// Records are keyed by priority << 52 | seq: a priority outside 0-15 has no place.
TEST_CASE("a record priority outside 0-15 is refused and nothing is written", "[buffer]") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int priority : {-1, 16}) {
    const tidegate::Status status =
        store->Append({MakeEvent(5, 0), MakeEvent(priority, 1)}, {}, {});
    CHECK(status.code() == tidegate::StatusCode::kInvalidArgument);
    CHECK(status.message() == "record priority " + std::to_string(priority) + " is outside 0-15");
  }
  CHECK(store->Stats()->records == 0);
  REQUIRE(store->Append({MakeEvent(15, 2), MakeEvent(0, 3)}, {}, {}).ok());
  auto rows = store->ReadNext(10, 1 << 20);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].event.priority == 15);
  tidegate::buffer::testing::CheckRecordCount(*store);
}

// The count lives in meta.records; without it (a file edited by hand) the store counts the
// rows once at open, and its writes keep the count from then on.
TEST_CASE("a buffer without its record count is counted at open", "[buffer]") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Append({MakeEvent(5, 0), MakeEvent(8, 1), MakeEvent(5, 2)}, {}, {}).ok());
    tidegate::buffer::testing::CheckRecordCount(*store);
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(dir.File("buffer.db").c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "DELETE FROM meta WHERE key = 'records'", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(raw);
  auto store = OpenStore(dir.path());
  CHECK(store->Stats()->records == 3);
  REQUIRE(store->Append({MakeEvent(2, 3)}, {}, {}).ok());
  tidegate::buffer::testing::CheckRecordCount(*store);
  CHECK(tidegate::buffer::testing::CountedAndPersistedRecords(store->path()).second == 4);
}

namespace {

// A buffer at schema version 8 (the last with the events_by_priority index) holding `rows`
// raw events of priorities 2 and 5 (seq 1..rows; every third is priority 2) with 200-byte
// payloads, written with the old columns; its WAL checkpointed into the file.
void WriteVersion8Buffer(const std::string& path, int rows) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  REQUIRE(tidegate::buffer::RegisterDedupChunkFunction(raw).ok());
  REQUIRE(sqlite3_exec(raw, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) == SQLITE_OK);
  std::string steps = "BEGIN;";
  for (size_t v = 0; v < 8; ++v) steps += tidegate::buffer::sql::kMigrations[v];
  steps +=
      "PRAGMA user_version=8;"
      "INSERT INTO meta(key, value) VALUES('buffer_id', 'b8'), ('next_seq', " +
      std::to_string(rows + 1) +
      ");"
      "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < " +
      std::to_string(rows) +
      ") INSERT INTO events(seq, priority, kind, event_time, ingest_time, topic, device_id,"
      " flags, key_epoch, payload, age_ms, schema_name, schema_version)"
      " SELECT x, CASE WHEN x % 3 = 0 THEN 2 ELSE 5 END, 0, x, x, 't', 'd', 0, 0,"
      " '{\"n\":' || x || ',\"pad\":\"' || hex(randomblob(90)) || '\"}', x, '', 0 FROM n;"
      "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);";
  REQUIRE(sqlite3_exec(raw, steps.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

// Reads the whole buffer as the uplink would, acknowledging each batch: (priority, seq,
// payload) in the order read.
std::vector<std::tuple<int, uint64_t, std::string>> DrainAll(SqliteStore& store) {
  std::vector<std::tuple<int, uint64_t, std::string>> read;
  while (true) {
    auto batch = store.ReadNext(5'000, size_t{64} << 20);
    REQUIRE(batch.ok());
    if (batch->empty()) return read;
    for (const auto& r : *batch) read.emplace_back(r.event.priority, r.seq, r.event.payload);
    REQUIRE(store.Ack(RangeOf(*batch, "b" + std::to_string(read.size()))).ok());
  }
}

// Every record of a WriteVersion8Buffer, read back through the store: priority 5 first, in
// seq order, each payload naming its seq.
void CheckUpgradedRecords(SqliteStore& store, int rows) {
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  CHECK(static_cast<int>(stats->records) == rows);
  tidegate::buffer::testing::CheckRecordCount(store);
  const auto read = DrainAll(store);
  REQUIRE(static_cast<int>(read.size()) == rows);
  bool in_order = true, payloads_match = true, priorities_match = true;
  for (size_t i = 0; i < read.size(); ++i) {
    const auto& [priority, seq, payload] = read[i];
    priorities_match &= priority == (seq % 3 == 0 ? 2 : 5);
    payloads_match &= payload.starts_with("{\"n\":" + std::to_string(seq) + ",");
    // Priority 5 first, then 2; seqs ascending within each.
    if (i > 0) {
      const auto& [last_priority, last_seq, last_payload] = read[i - 1];
      in_order &= priority < last_priority || (priority == last_priority && seq > last_seq);
    }
  }
  CHECK(priorities_match);
  CHECK(payloads_match);
  CHECK(in_order);
  CHECK(std::get<0>(read.front()) == 5);
  CHECK(std::get<0>(read.back()) == 2);
  tidegate::buffer::testing::CheckRecordCount(store);
}

}  // namespace

// Version 8 to 10 rebuilds events under its new key. Done as one transaction it needed a second
// copy of the table in the file and a WAL as large (these 50,000 records: 12.9 MB on disk
// before, 50.0 MB after); moved in chunks of 10,000 rows in seq order with a checkpoint after
// each, the file grows by about a chunk (15.3 MB). The priorities interleave, as alarms do
// among telemetry: a chunk taken in (priority, seq) order would free no page of the old table
// until the last priority moved (18.7 MB).
TEST_CASE("a version-8 buffer upgrades in chunks within about its own size on disk", "[buffer]") {
  TempDir dir;
  constexpr int kRows = 50'000;
  WriteVersion8Buffer(dir.File("buffer.db"), kRows);
  const uint64_t before = tidegate::buffer::testing::DiskBytes(dir.File("buffer.db"));
  auto store = OpenStore(dir.path());
  const uint64_t after = tidegate::buffer::testing::DiskBytes(dir.File("buffer.db"));
  std::fprintf(stderr, "upgrade of %d records: %llu bytes on disk before, %llu after\n", kRows,
               static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
  CHECK(after <= before + before / 4);
  CHECK(store->buffer_id() == "b8");
  CheckUpgradedRecords(*store, kRows);
  // seqs go on after the upgraded ones.
  REQUIRE(store->Append({MakeEvent(5, 0)}, {}, {}).ok());
  auto next = store->ReadNext(10, 1 << 20);
  REQUIRE(next.ok());
  REQUIRE(next->size() == 1);
  CHECK((*next)[0].seq == static_cast<uint64_t>(kRows) + 1);
}

// A stop between two chunks leaves version 9 with the rows in both tables: the next start
// moves the rest and finishes the upgrade.
TEST_CASE("an upgrade stopped between chunks goes on at the next start", "[buffer]") {
  TempDir dir;
  constexpr int kRows = 25'000;
  WriteVersion8Buffer(dir.File("buffer.db"), kRows);
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(dir.File("buffer.db").c_str(), &raw) == SQLITE_OK);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
    const std::string one_chunk = "BEGIN;" + std::string(tidegate::buffer::sql::kMigrations[8]) +
                                  "PRAGMA user_version=9; COMMIT; BEGIN;" +
                                  std::string(tidegate::buffer::sql::kMoveEventsChunk) + "COMMIT;";
    REQUIRE(sqlite3_exec(raw, one_chunk.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(sqlite3_changes(raw) == 10'000);
  }
  auto store = OpenStore(dir.path());
  CheckUpgradedRecords(*store, kRows);
}
