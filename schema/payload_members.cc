// SPDX-License-Identifier: Apache-2.0
#include "schema/payload_members.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

#include "common/json_escape.h"
#include "common/time_format.h"
#include "schema/batch_view.h"

namespace tidegate::schema {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// Index just past the JSON string that starts at s[i] == '"', or kNpos.
size_t SkipString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return kNpos;
}

// Index just past the object or array that starts at s[i]: brackets counted, strings
// skipped, nothing else checked.
size_t SkipContainer(std::string_view s, size_t i) {
  size_t depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      i = SkipString(s, i);
      if (i == kNpos) return kNpos;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if ((c == '}' || c == ']') && --depth == 0) return i + 1;
    ++i;
  }
  return kNpos;
}

bool IsScalarByte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '+' || c == '.';
}

// Index just past the value that starts at s[i], or kNpos.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return kNpos;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') return SkipContainer(s, i);
  const size_t start = i;
  while (i < s.size() && IsScalarByte(s[i])) ++i;
  return i == start ? kNpos : i;
}

}  // namespace

bool SplitTopLevelMembers(std::string_view json, std::vector<PayloadMember>* out) {
  out->clear();
  if (json.size() < 2 || json.front() != '{' || json.back() != '}') return false;
  if (json.size() == 2) return true;
  size_t i = 1;
  while (true) {
    if (json[i] != '"') return false;
    const size_t colon = SkipString(json, i);
    if (colon == kNpos || colon >= json.size() || json[colon] != ':') return false;
    const size_t end = SkipValue(json, colon + 1);
    if (end == kNpos || end >= json.size()) return false;
    out->push_back({json.substr(i, colon - i), json.substr(colon + 1, end - colon - 1)});
    if (end == json.size() - 1) return true;
    if (json[end] != ',') return false;
    i = end + 1;
  }
}

void AppendMember(std::string* out, std::string_view key_raw, std::string_view value_raw) {
  out->append(key_raw);
  out->push_back(':');
  out->append(value_raw);
}

bool ColumnKeyFromPath(std::string_view path, std::string* key) {
  key->clear();
  if (path.empty() || path.front() != '/') return false;
  for (size_t i = 1; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '/') return false;
    if (c != '~') {
      key->push_back(c);
      continue;
    }
    if (i + 1 >= path.size() || (path[i + 1] != '0' && path[i + 1] != '1')) return false;
    key->push_back(path[++i] == '0' ? '~' : '/');
  }
  return key->size() <= kMaxColumnKeyBytes;
}

bool AppendNumberValue(std::string* out, double value, uint8_t form) {
  if (form == kFormValue) {
    AppendJsonNumber(out, value);
    return true;
  }
  if (form < kFormFixed0 || form > kFormFixed0 + kMaxFixedDigits) return false;
  if (!std::isfinite(value) || std::fabs(value) >= kMaxFixedMagnitude) return false;
  fmt::format_to(std::back_inserter(*out), "{:.{}f}", value, form - kFormFixed0);
  return true;
}

bool AppendIntegerValue(std::string* out, int64_t value, uint8_t form) {
  if (form != kFormValue) return false;
  fmt::format_to(std::back_inserter(*out), "{}", value);
  return true;
}

bool AppendTimestampValue(std::string* out, int64_t unix_ms, uint8_t form) {
  if (form == kFormValue) return AppendIntegerValue(out, unix_ms, form);
  if (form != kFormRfc3339 || !InRfc3339Range(unix_ms)) return false;
  AppendJsonString(out, FormatRfc3339Ms(unix_ms));
  return true;
}

bool AppendBooleanValue(std::string* out, bool value, uint8_t form) {
  if (form != kFormValue) return false;
  out->append(value ? "true" : "false");
  return true;
}

bool AppendStringValue(std::string* out, std::string_view value, uint8_t form) {
  if (form != kFormValue) return false;
  AppendJsonString(out, value);
  return true;
}

}  // namespace tidegate::schema
