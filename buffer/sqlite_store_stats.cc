// SPDX-License-Identifier: Apache-2.0
// SqliteStore::Stats, kept apart from the hot-path code: counts for `tidegate buffer stats`,
// metrics and tests, and the read-only opening that command uses.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "buffer/schema.h"
#include "buffer/sqlite_store.h"

namespace tidegate::buffer {
namespace {

uint64_t FileSizeOrZero(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

Result<int64_t> QueryInt(sqlite3* db, std::string_view sql, int col = 0) {
  TG_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db, sql));
  TG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row && !stmt.IsNull(col) ? stmt.Int(col) : 0;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenReadOnly(const std::string& state_dir) {
  const std::string path = (std::filesystem::path(state_dir) / "buffer.db").string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound("no buffer at " + path + " (has the agent run with this state_dir?)");
  }
  ConfigureSqliteProcess();
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "open " + path + " read-only");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 10'000);
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  store->path_ = path;
  TG_ASSIGN_OR_RETURN(Stmt get, Stmt::Prepare(raw, sql::kGetMeta));
  get.Bind(1, std::string_view("buffer_id"));
  TG_ASSIGN_OR_RETURN(bool row, get.Step());
  if (!row) return Corruption(path + " has no buffer_id: not a tidegate buffer");
  store->buffer_id_ = std::string(get.Text(0));
  TG_ASSIGN_OR_RETURN(int64_t version, QueryInt(raw, "PRAGMA user_version"));
  const auto current = static_cast<int64_t>(sql::kMigrations.size());
  if (version != current) {
    return InvalidArgument(path + " has schema version " + std::to_string(version) +
                           ", this tidegate reads " + std::to_string(current) +
                           (version < current ? ": start the agent once, which upgrades it"
                                              : ": it was written by a newer tidegate"));
  }
  TG_ASSIGN_OR_RETURN(int64_t records, LoadRecordCount(raw, path));
  store->records_ = records;
  store->read_db_ = std::move(db);
  return store;
}

// meta.records (schema version 10 on) is written with every change to events. A database
// without it (damaged, or edited by hand) is counted once, the slow way: count(*) reads every
// page of the table.
Result<int64_t> SqliteStore::LoadRecordCount(sqlite3* db, const std::string& path) {
  TG_ASSIGN_OR_RETURN(Stmt get, Stmt::Prepare(db, sql::kGetMeta));
  get.Bind(1, std::string_view("records"));
  TG_ASSIGN_OR_RETURN(bool stored, get.Step());
  if (stored && !get.IsNull(0) && get.Int(0) >= 0) return get.Int(0);
  TG_ASSIGN_OR_RETURN(int64_t records, QueryInt(db, sql::kCountAll));
  spdlog::warn("buffer: {} had no record count; counted {} records", path, records);
  return records;
}

Result<StoreStats> SqliteStore::Stats() {
  std::lock_guard<std::mutex> lock(read_mu_);
  sqlite3* db = read_db_.get();
  StoreStats stats;
  // Metrics scrape this: no statement here walks the backlog, so its cost stays flat in
  // the number of buffered events.
  TG_ASSIGN_OR_RETURN(Stmt count, Stmt::Prepare(db, sql::kCountWindowResults));
  count.Bind(1, int64_t{kWindowResultPriority});
  TG_ASSIGN_OR_RETURN(bool counted, count.Step());
  const int64_t window_results = counted ? count.Int(0) : 0;
  const int64_t records = std::max<int64_t>(0, records_.load());
  // Seqs grow with ingest time within a priority: the oldest raw event is the first row of
  // one of the topic priorities.
  // Oldest by age stamp: across a wall-clock step ingest times are not in order.
  int64_t oldest = 0, oldest_age = 0;
  bool found = false;
  TG_ASSIGN_OR_RETURN(Stmt first, Stmt::Prepare(db, sql::kOldestOfPriority));
  for (int64_t priority = 0; priority < kWindowResultPriority; ++priority) {
    first.Bind(1, priority);
    TG_ASSIGN_OR_RETURN(bool row, first.Step());
    if (row && (!found || first.Int(1) < oldest_age)) {
      found = true;
      oldest = first.Int(0);
      oldest_age = first.Int(1);
    }
    first.Reset();
  }
  TG_ASSIGN_OR_RETURN(int64_t inflight, QueryInt(db, sql::kCountInflight));
  TG_ASSIGN_OR_RETURN(int64_t dead, QueryInt(db, sql::kCountDeadLetters));
  TG_ASSIGN_OR_RETURN(int64_t rejected, QueryInt(db, sql::kCountRejected));
  stats.records = static_cast<uint64_t>(records);
  // records_ moves with the writer, the count with this snapshot: never report below zero.
  stats.events = static_cast<uint64_t>(std::max<int64_t>(0, records - window_results));
  stats.oldest_ingest_ms = oldest;
  stats.oldest_age_ms = oldest_age;
  stats.inflight_batches = static_cast<uint64_t>(inflight);
  stats.dead_letters = static_cast<uint64_t>(dead);
  stats.rejected_batches = static_cast<uint64_t>(rejected);
  stats.db_bytes = FileSizeOrZero(path_);
  stats.wal_bytes = FileSizeOrZero(path_ + "-wal");
  stats.used_bytes = used_bytes_.load();
  stats.data_budget_bytes = data_budget_.load();
  stats.max_bytes = max_bytes_.load();
  stats.full = full_.load();
  stats.checkpoints = checkpoints_.load();
  stats.max_transaction_wal_bytes = max_transaction_wal_bytes_.load();
  stats.checkpoint_failures = checkpoint_failures_.load();
  TG_ASSIGN_OR_RETURN(Stmt counters, Stmt::Prepare(db, sql::kSelectCounters));
  while (true) {
    TG_ASSIGN_OR_RETURN(bool row, counters.Step());
    if (!row) break;
    stats.counters[std::string(counters.Text(0))] = counters.Int(1);
  }
  return stats;
}

}  // namespace tidegate::buffer
