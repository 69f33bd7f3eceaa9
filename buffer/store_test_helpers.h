// SPDX-License-Identifier: Apache-2.0
// Helpers the buffer's Catch2 tests share: open a store (failing the test with the reason),
// read a persisted counter, measure the files on disk and name the rows ReadNext returned as
// a batch.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "buffer/sqlite_store.h"
#include "buffer/sqlite_util.h"

namespace tidegate::buffer::testing {

inline std::unique_ptr<SqliteStore> OpenOrFail(const StoreOptions& options) {
  auto store = SqliteStore::Open(options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// A counter of the persisted `counters` table (0 when never written).
inline int64_t CounterOf(SqliteStore& store, const std::string& name) {
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  auto it = stats->counters.find(name);
  return it == stats->counters.end() ? 0 : it->second;
}

// What buffer.db and its WAL take on disk (the files max_bytes bounds).
inline uint64_t DiskBytes(const std::string& db) {
  uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(db + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

// The number of rows in events, counted in the file (what meta.records must equal), and
// meta.records itself (-1 if missing), read with a connection of their own.
inline std::pair<int64_t, int64_t> CountedAndPersistedRecords(const std::string& db_path) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  auto one = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql, -1, &stmt, nullptr) == SQLITE_OK);
    const int64_t value = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return value;
  };
  return {one("SELECT count(*) FROM events"), one("SELECT value FROM meta WHERE key = 'records'")};
}

// meta.records equals the rows in events, and a store opened on the file reports it.
inline void CheckRecordCount(SqliteStore& store) {
  const auto [counted, persisted] = CountedAndPersistedRecords(store.path());
  INFO("rows in events " << counted << ", meta.records " << persisted);
  CHECK(persisted == counted);
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  CHECK(static_cast<int64_t>(stats->records) == counted);
}

// The batch of rows ReadNext returned, as the uplink records it in flight.
inline BatchRange RangeOf(std::string batch_id, const std::vector<BufferedRecord>& rows) {
  return BatchRange{.batch_id = std::move(batch_id),
                    .priority = rows.front().event.priority,
                    .first_seq = rows.front().seq,
                    .last_seq = rows.back().seq,
                    .count = static_cast<uint32_t>(rows.size()),
                    .created_at_ms = 1};
}

}  // namespace tidegate::buffer::testing
