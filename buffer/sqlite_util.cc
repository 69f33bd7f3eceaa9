// SPDX-License-Identifier: Apache-2.0
#include "buffer/sqlite_util.h"

namespace tidegate::buffer {

namespace {

Status StatusFromCode(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return ResourceExhausted(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corruption(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    default:
      return IOError(std::move(message));
  }
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return StatusFromCode(rc, std::move(message));
}

Result<Stmt> Stmt::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
  Stmt stmt;
  stmt.db_ = db;
  stmt.stmt_.reset(raw);
  return stmt;
}

Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_.get(), index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = SqliteError(db_, rc, "step");
  sqlite3_reset(stmt_.get());
  return status;
}

Status Stmt::Run() {
  Result<bool> r = Step();
  Reset();
  return r.ok() ? Status::Ok() : r.status();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string_view Stmt::Text(int col) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
  int size = sqlite3_column_bytes(stmt_.get(), col);
  return data ? std::string_view(data, static_cast<size_t>(size)) : std::string_view();
}

Status Exec(sqlite3* db, std::string_view sql, std::string_view context) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message(context);
  message += ": ";
  message += error ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  return StatusFromCode(rc, std::move(message));
}

void ConfigureSqliteProcess() {
  // SQLITE_MISUSE if SQLite was initialized first: only slower.
  static const int kConfigured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kConfigured;
}

}  // namespace tidegate::buffer
