// SPDX-License-Identifier: Apache-2.0
// Text forms for libpq: array literals for the unnest() parameters of the PostgreSQL
// landing store (one round trip per table per batch), and connection strings with the
// password hidden for messages and logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tidegate::collector::pg {

// Builds a one-dimensional array literal, e.g. {"a","b \"c\""} or {1,2}. Every text
// element is double-quoted with '"' and '\' escaped, so any UTF-8 text (also "NULL",
// braces, commas, spaces) round-trips exactly. Text may not contain NUL bytes (libpq
// parameters are C strings; PostgreSQL text cannot hold them).
class ArrayLiteral {
 public:
  void AddText(std::string_view text);
  void AddInt(int64_t value);
  void AddBool(bool value);
  void AddNull();
  // Shortest text that reads back the same double; NaN and infinities as PostgreSQL
  // writes them.
  void AddDouble(double value);
  // The literal; the builder may be reused after Clear().
  const std::string& Finish();
  void Clear();

 private:
  void Separator();
  std::string out_ = "{";
  bool finished_ = false;
};

// The connection string (URL or key=value form) with any password replaced by "***", for
// messages: postgresql://u:secret@h/db -> postgresql://u:***@h/db, password=x -> password=***.
std::string RedactConninfo(std::string_view conninfo);

}  // namespace tidegate::collector::pg
