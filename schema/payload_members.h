// SPDX-License-Identifier: Apache-2.0
// The pieces of the columnar layout (wire schema_version 2) that the agent's encoder and every
// decoder must agree on byte for byte: splitting a compact JSON object into its top-level
// members, the top-level key a column's path names, and how a column value is written back
// into a payload. The encoder keeps a value in a column only if writing it back gives the
// exact bytes it read, so a reassembled payload equals the original. Pure functions,
// thread-safe; every input is treated as hostile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tidegate::schema {

// The top-level member "key":value of a compact JSON object, as raw text: key_raw with its
// quotes and escapes as written, value_raw the value's text.
struct PayloadMember {
  std::string_view key_raw;
  std::string_view value_raw;
};

// Splits a compact JSON object (no whitespace between its top-level tokens, e.g.
// {"a":1,"b":{"c": 2}}) into its members, in order. Nested values are only delimited, not
// validated. False, with *out unspecified, if json is anything else; never reads past json.
bool SplitTopLevelMembers(std::string_view json, std::vector<PayloadMember>* out);

// Appends {member,member,...} (the inverse of SplitTopLevelMembers).
void AppendMember(std::string* out, std::string_view key_raw, std::string_view value_raw);

// The key a column path names: "/temp" -> "temp" ("~1" is '/', "~0" is '~'). False if path
// is not a JSON Pointer of exactly one token, or the key is longer than kMaxColumnKeyBytes.
inline constexpr size_t kMaxColumnKeyBytes = 128;
bool ColumnKeyFromPath(std::string_view path, std::string* key);

// ColumnForm values (schema/tidegate_batch.fbs).
inline constexpr uint8_t kFormNull = 0;
inline constexpr uint8_t kFormValue = 1;
inline constexpr uint8_t kFormRfc3339 = 2;
inline constexpr uint8_t kFormFixed0 = 16;
inline constexpr uint8_t kMaxFixedDigits = 17;
// A Number in fixed notation must be below this in magnitude (bounds its text).
inline constexpr double kMaxFixedMagnitude = 1e17;

// Append a column value in its form. Each returns false (appending nothing) for a form its
// type does not have, or a value the form cannot write.
bool AppendNumberValue(std::string* out, double value, uint8_t form);
bool AppendIntegerValue(std::string* out, int64_t value, uint8_t form);
bool AppendTimestampValue(std::string* out, int64_t unix_ms, uint8_t form);
bool AppendBooleanValue(std::string* out, bool value, uint8_t form);
// REQUIRES: value is valid UTF-8.
bool AppendStringValue(std::string* out, std::string_view value, uint8_t form);

}  // namespace tidegate::schema
