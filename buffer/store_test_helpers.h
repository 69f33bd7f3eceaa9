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
