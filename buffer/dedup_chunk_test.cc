// SPDX-License-Identifier: Apache-2.0
// The dedup_chunks format (one row per commit, buffer/dedup_chunk.h): the codec, the move of a
// version-7 database's dedup_log rows into it, a damaged row at load, and the count bound
// cutting a row so that exactly the newest keys stay.
#include "buffer/dedup_chunk.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "buffer/schema.h"
#include "buffer/sqlite_store.h"
#include "buffer/store_test_helpers.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace tidegate::buffer {
namespace {

using testing::CounterOf;
using testing::OpenOrFail;
using tidegate::testing::FakeClock;
using tidegate::testing::TempDir;
using Keys = std::vector<std::pair<uint64_t, int64_t>>;

Keys Decode(std::string_view chunk) {
  Keys keys;
  Status status = ForEachDedupEntry(chunk, [&](uint64_t k, int64_t e) { keys.emplace_back(k, e); });
  REQUIRE(status.ok());
  return keys;
}

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error != nullptr ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

TEST_CASE("a dedup chunk keeps its keys and expiries in order", "[buffer][dedup]") {
  std::string chunk;
  const Keys in = {{7, 100}, {uint64_t{1} << 63, -5}, {~uint64_t{0}, INT64_MAX}, {3, 100}};
  for (const auto& [key, expires] : in) AppendDedupEntry(key, expires, &chunk);
  CHECK(chunk.size() == in.size() * kDedupEntryBytes);
  CHECK(*DedupEntryCount(chunk) == in.size());
  CHECK(Decode(chunk) == in);
  CHECK(DedupEntryKey(chunk, 2) == ~uint64_t{0});
  CHECK(DedupEntryExpires(chunk, 1) == -5);
  // Little endian, key first.
  CHECK(chunk.substr(0, 9) == std::string("\x07\0\0\0\0\0\0\0\x64", 9));
  CHECK(Decode("").empty());
}

TEST_CASE("a damaged dedup chunk is refused before any key is used", "[buffer][dedup]") {
  std::string chunk;
  AppendDedupEntry(1, 2, &chunk);
  AppendDedupEntry(3, 4, &chunk);
  int calls = 0;
  auto count = [&calls](uint64_t, int64_t) { ++calls; };
  for (size_t cut : {size_t{1}, size_t{8}, size_t{15}}) {
    CHECK(ForEachDedupEntry(chunk.substr(0, chunk.size() - cut), count).code() ==
          StatusCode::kCorruption);
    CHECK(DedupEntryCount(chunk + std::string(cut, 'x')).status().code() ==
          StatusCode::kCorruption);
  }
  std::string zero;
  AppendDedupEntry(5, 6, &zero);
  AppendDedupEntry(0, 6, &zero);  // a dedup key is never 0
  CHECK(ForEachDedupEntry(zero, count).code() == StatusCode::kCorruption);
  CHECK(calls == 0);
}

// A database left by a release of schema version 7: dedup_log rows, one per key.
void MakeVersion7(const std::string& path, int keys, int64_t first_expiry) {
  std::string sql;
  for (size_t v = 0; v < 7; ++v) sql += std::string(sql::kMigrations[v]);
  sql += "PRAGMA user_version=7;";
  sql += "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < " +
         std::to_string(keys) + ") INSERT INTO dedup_log(expires_at, key) SELECT " +
         std::to_string(first_expiry) + " + x, 1000000 + x FROM n;";
  // A key seen again after its first expiry: both entries move; the later expiry wins in memory.
  sql += "INSERT INTO dedup_log(expires_at, key) VALUES(" + std::to_string(first_expiry) +
         " + 9000000, 1000001);";
  Sql(path, sql);
}

TEST_CASE("upgrading to dedup_chunks moves every dedup_log key, in expiry order",
          "[buffer][dedup]") {
  TempDir dir;
  FakeClock clock;
  const int64_t now = clock.wall_ms();
  // 10,000 keys, 2,000 of them already expired: three chunks of up to 4,096.
  MakeVersion7(dir.File("buffer.db"), 10'000, now - 2'000);
  auto store = OpenOrFail({.state_dir = dir.path(), .clock = &clock});
  CHECK(store->DedupKeyRows() == 10'001);
  auto keys = store->LoadDedupKeys(now);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 8'001);
  CHECK(keys->front() == std::make_pair(uint64_t{1'002'001}, now + 1));
  CHECK((*keys)[7'999] == std::make_pair(uint64_t{1'010'000}, now + 8'000));
  CHECK(keys->back() == std::make_pair(uint64_t{1'000'001}, now - 2'000 + 9'000'000));
  for (size_t i = 1; i < keys->size(); ++i) CHECK((*keys)[i - 1].second <= (*keys)[i].second);
  // The dedup_log table is gone and the upgraded rows follow the new format's bound.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.File("buffer.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "SELECT 1 FROM dedup_log", nullptr, nullptr, nullptr) == SQLITE_ERROR);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*), sum(count), max(count) FROM dedup_chunks", -1,
                             &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(sqlite3_column_int64(stmt, 0) == 3);
  CHECK(sqlite3_column_int64(stmt, 1) == 10'001);
  CHECK(sqlite3_column_int64(stmt, 2) == 4'096);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

std::vector<Event> KeysOnly(uint64_t first, int n, int64_t expires) {
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    Event e;
    e.dedup_key = first + static_cast<uint64_t>(i);
    e.dedup_expires_ms = expires;
    e.store = false;
    events.push_back(std::move(e));
  }
  return events;
}

TEST_CASE("a damaged dedup_chunks row is skipped and the newer keys still load",
          "[buffer][dedup]") {
  TempDir dir;
  FakeClock clock;
  const int64_t later = clock.wall_ms() + 600'000;
  {
    auto store = OpenOrFail({.state_dir = dir.path(), .clock = &clock});
    for (uint64_t commit = 0; commit < 3; ++commit) {
      REQUIRE(store->Append(KeysOnly(1 + 100 * commit, 10, later), {}, {}).ok());
    }
  }
  // The middle row loses a byte.
  Sql(dir.File("buffer.db"),
      "UPDATE dedup_chunks SET keys = substr(keys, 2) WHERE id = (SELECT min(id) + 1 FROM "
      "dedup_chunks);");
  auto store = OpenOrFail({.state_dir = dir.path(), .clock = &clock});
  Keys keys;
  Status status = store->ForEachDedupKey(store->age_clock().Now().age_ms,
                                         [&](uint64_t k, int64_t e) { keys.emplace_back(k, e); });
  CHECK(status.code() == StatusCode::kCorruption);
  REQUIRE(keys.size() == 20);
  CHECK(keys.front().first == 1);
  CHECK(keys.back().first == 210);
}

TEST_CASE("the dedup count bound keeps exactly the newest keys, cutting a row", "[buffer][dedup]") {
  TempDir dir;
  FakeClock clock;
  auto store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  const auto cap = static_cast<int64_t>(store->limits().max_dedup_keys);
  REQUIRE(cap > 100);
  const int64_t keep = cap - cap / 10;
  // Rows of 7 keys, so the bound falls inside a row; expiries rise from row to row.
  const int rows = static_cast<int>(cap / 7) + 1;
  uint64_t next = 1;
  int64_t expires = clock.wall_ms() + 600'000;
  for (int r = 0; r < rows; ++r) {
    REQUIRE(store->Append(KeysOnly(next, 7, expires++), {}, {}).ok());
    next += 7;
  }
  const int64_t written = static_cast<int64_t>(next) - 1;
  REQUIRE(written > cap);
  CHECK(store->DedupKeyRows() == keep);
  CHECK(CounterOf(*store, "dedup_keys_trimmed") == written - keep);
  auto keys = store->LoadDedupKeys(store->age_clock().Now().age_ms);
  REQUIRE(keys.ok());
  REQUIRE(static_cast<int64_t>(keys->size()) == keep);
  CHECK(keys->front().first == static_cast<uint64_t>(written - keep + 1));
  CHECK(keys->back().first == static_cast<uint64_t>(written));
  // Reopened, the count comes from the rows' counts, the cut one included.
  store.reset();
  store = OpenOrFail({.state_dir = dir.path(), .max_bytes = 1 << 20, .clock = &clock});
  CHECK(store->DedupKeyRows() == keep);
  // Past every expiry, maintenance deletes every row.
  clock.Advance(700'000 + rows);
  REQUIRE(store->Maintain().ok());
  CHECK(store->DedupKeyRows() == 0);
  CHECK(store->LoadDedupKeys(0)->empty());
}

}  // namespace
}  // namespace tidegate::buffer
