// SPDX-License-Identifier: Apache-2.0
// libpq calls as Status/Result for the PostgreSQL landing store: owned results, text
// parameters, and errors that carry the server's primary message and SQLSTATE but never a
// DETAIL line (it may quote row values, i.e. payload bytes). Used on the thread that holds
// the connection's lease.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::collector::pg {

struct ResultClear {
  void operator()(PGresult* res) const { PQclear(res); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

// kUnavailable with the server's primary message and SQLSTATE (or the connection's error).
Status QueryError(PGconn* conn, const PGresult* res, std::string_view what);

// res if its status is expected, else QueryError.
Result<ResultPtr> Check(PGconn* conn, ResultPtr res, ExecStatusType expected,
                        std::string_view what);

// Runs sql (no parameters) expecting PGRES_COMMAND_OK.
Status Exec(PGconn* conn, const char* sql, std::string_view what);

// Text-format parameters, as libpq wants them: an array of C strings. An Add after data()
// invalidates its pointers.
class Params {
 public:
  Params& Add(std::string value) {
    values_.push_back(std::move(value));
    return *this;
  }
  Params& Add(int64_t value) { return Add(std::to_string(value)); }
  int size() const { return static_cast<int>(values_.size()); }
  const char* const* data() {
    pointers_.clear();
    for (const std::string& v : values_) pointers_.push_back(v.c_str());
    return pointers_.data();
  }

 private:
  std::vector<std::string> values_;
  std::vector<const char*> pointers_;
};

Result<ResultPtr> ExecPrepared(PGconn* conn, const char* name, Params& params,
                               ExecStatusType expected, std::string_view what);
Result<ResultPtr> ExecParams(PGconn* conn, const char* sql, Params& params, ExecStatusType expected,
                             std::string_view what);

// The row count of an INSERT/UPDATE/DELETE result.
int64_t Rows(PGresult* res);
// A value of a result as an integer (0 if it is not one) or as text.
int64_t IntValue(const PGresult* res, int row, int col);
std::string TextValue(const PGresult* res, int row, int col);

}  // namespace tidegate::collector::pg
