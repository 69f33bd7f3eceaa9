// SPDX-License-Identifier: Apache-2.0
#include "collector/store/pg_exec.h"

#include <fmt/format.h>

#include <charconv>

#include "collector/store/pg_pool.h"

namespace tidegate::collector::pg {

// The server's primary message and SQLSTATE only: DETAIL lines may quote row values
// (payload bytes), which must not reach the logs.
Status QueryError(PGconn* conn, const PGresult* res, std::string_view what) {
  if (res == nullptr) return ConnectionError(conn, what);
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (primary == nullptr) return ConnectionError(conn, what);
  return Unavailable(
      fmt::format("postgres: {}: {} (SQLSTATE {})", what, primary, state != nullptr ? state : "?"));
}

Result<ResultPtr> Check(PGconn* conn, ResultPtr res, ExecStatusType expected,
                        std::string_view what) {
  if (res == nullptr || PQresultStatus(res.get()) != expected) {
    return QueryError(conn, res.get(), what);
  }
  return res;
}

Status Exec(PGconn* conn, const char* sql, std::string_view what) {
  return Check(conn, ResultPtr(PQexec(conn, sql)), PGRES_COMMAND_OK, what).status();
}

Result<ResultPtr> ExecPrepared(PGconn* conn, const char* name, Params& params,
                               ExecStatusType expected, std::string_view what) {
  return Check(
      conn,
      ResultPtr(PQexecPrepared(conn, name, params.size(), params.data(), nullptr, nullptr, 0)),
      expected, what);
}

Result<ResultPtr> ExecParams(PGconn* conn, const char* sql, Params& params, ExecStatusType expected,
                             std::string_view what) {
  return Check(conn,
               ResultPtr(PQexecParams(conn, sql, params.size(), nullptr, params.data(), nullptr,
                                      nullptr, 0)),
               expected, what);
}

int64_t Rows(PGresult* res) {
  int64_t rows = 0;
  std::string_view text = PQcmdTuples(res);
  std::from_chars(text.data(), text.data() + text.size(), rows);
  return rows;
}

int64_t IntValue(const PGresult* res, int row, int col) {
  int64_t value = 0;
  const char* text = PQgetvalue(res, row, col);
  std::from_chars(text, text + PQgetlength(res, row, col), value);
  return value;
}

std::string TextValue(const PGresult* res, int row, int col) {
  return std::string(PQgetvalue(res, row, col), static_cast<size_t>(PQgetlength(res, row, col)));
}

}  // namespace tidegate::collector::pg
