// SPDX-License-Identifier: Apache-2.0
// Encoders for one structured log record per line on stderr (journald): logfmt
// (`ts=... level=info prog=tidegate msg="..." key=value`) and JSON lines. Values are escaped
// so that a record is always exactly one line, and bytes that are not UTF-8 are replaced by
// U+FFFD (journald stores a non-UTF-8 message as a binary blob). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace tidegate {

enum class LogFormat { kLogfmt, kJson };

// "logfmt" or "json"; false for anything else.
bool ParseLogFormat(std::string_view name, LogFormat* out);

using LogField = std::pair<std::string_view, std::string_view>;

// One record. Keys of `fields` must be plain identifiers ([a-z_]+); values are any bytes.
struct LogRecord {
  int64_t unix_ms = 0;     // written as RFC 3339 UTC with milliseconds
  std::string_view level;  // trace, debug, info, warn, error, critical
  std::string_view prog;
  std::string_view msg;
  std::span<const LogField> fields;
};

// The record and a trailing '\n'.
std::string FormatLogRecord(LogFormat format, const LogRecord& record);

// Appends a logfmt value: bare when it is non-empty and holds no space, '=', '"', '\\',
// control or DEL byte; otherwise quoted with \" \\ \n \r \t and \u00XX escapes.
void AppendLogfmtValue(std::string* out, std::string_view value);

// Appends a JSON string with escapes; bytes that are not well-formed UTF-8 become U+FFFD.
void AppendJsonLogString(std::string* out, std::string_view value);

// `bytes` with every ill-formed UTF-8 sequence replaced by U+FFFD (EF BF BD), one
// replacement per byte that cannot start or continue a well-formed sequence.
std::string SanitizeUtf8(std::string_view bytes);

}  // namespace tidegate
