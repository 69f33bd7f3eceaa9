// SPDX-License-Identifier: Apache-2.0
// Thin RAII wrappers over the SQLite C API that turn return codes into Status: Db owns a
// connection, Stmt a prepared statement. A Db and its Stmts are used by one thread at a
// time (the owner serializes access).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::buffer {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, SqliteCloser>;

// Maps a SQLite result code to a Status code: FULL -> kResourceExhausted,
// CORRUPT/NOTADB -> kCorruption, BUSY/LOCKED -> kUnavailable, others -> kIOError.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

class Stmt {
 public:
  Stmt() = default;
  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql);

  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, std::string_view text);       // SQLITE_STATIC: text must outlive Step()
  Stmt& BindBlob(int index, std::string_view bytes);  // SQLITE_STATIC, as above
  // Runs one step: true if a row is ready, false when done, or an error.
  Result<bool> Step();
  // Runs to completion (for statements without rows) and resets.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
  std::string_view Text(int col) const;

 private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

// SQLite's process-wide settings, applied by the first call, before any connection opens
// (sqlite3_config is refused once SQLite is initialized): no memory statistics. With them on,
// every sqlite3_malloc and sqlite3_free takes a global mutex to count bytes that nothing here
// reads. `perf record` of the agent at QoS 0: the writer's mutex lock and unlock were 1.6% of
// the agent's samples with them on, 0.02% off; BM_BufferCommit 1.83 -> 1.71 ms CPU per 1,000.
void ConfigureSqliteProcess();

// Runs one or more statements without results.
Status Exec(sqlite3* db, std::string_view sql, std::string_view context);

}  // namespace tidegate::buffer
