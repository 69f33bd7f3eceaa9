// SPDX-License-Identifier: Apache-2.0
// A strict parser of the logfmt lines common/log_format.h writes, for tests: `key=value`
// pairs separated by one space; keys are [a-z_]+; a value is bare (no space, '=', '"', '\',
// control or DEL byte, not empty) or quoted with \" \\ \n \r \t or \u00XX escapes. Anything
// else is a parse failure. Header-only so unit tests of common/ can use it. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidegate::testing {

using LogfmtPairs = std::vector<std::pair<std::string, std::string>>;

namespace logfmt_internal {

inline bool IsBareByte(char ch) {
  auto u = static_cast<unsigned char>(ch);
  return u > 0x20 && u != 0x7f && ch != '=' && ch != '"' && ch != '\\';
}

inline int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

// Parses a quoted value at line[*i] (the opening quote); advances *i past the closing one.
inline std::optional<std::string> ParseQuoted(std::string_view line, size_t* i) {
  std::string value;
  for (size_t k = *i + 1; k < line.size(); ++k) {
    char ch = line[k];
    if (ch == '"') {
      *i = k + 1;
      return value;
    }
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
    if (ch != '\\') {
      value.push_back(ch);
      continue;
    }
    if (++k >= line.size()) return std::nullopt;
    switch (line[k]) {
      case '"':
      case '\\':
        value.push_back(line[k]);
        break;
      case 'n':
        value.push_back('\n');
        break;
      case 'r':
        value.push_back('\r');
        break;
      case 't':
        value.push_back('\t');
        break;
      case 'u': {
        if (k + 4 >= line.size() || line.substr(k + 1, 2) != "00") return std::nullopt;
        int hi = HexValue(line[k + 3]);
        int lo = HexValue(line[k + 4]);
        if (hi < 0 || lo < 0) return std::nullopt;
        value.push_back(static_cast<char>(hi * 16 + lo));
        k += 4;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace logfmt_internal

// The pairs of one line (without its '\n'), in order; nullopt if it is not strict logfmt.
inline std::optional<LogfmtPairs> ParseLogfmtLine(std::string_view line) {
  LogfmtPairs pairs;
  size_t i = 0;
  while (i < line.size()) {
    if (!pairs.empty() && line[i++] != ' ') return std::nullopt;
    size_t key_start = i;
    while (i < line.size() && ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_')) ++i;
    if (i == key_start || i >= line.size() || line[i] != '=') return std::nullopt;
    std::string key(line.substr(key_start, i - key_start));
    ++i;
    if (i < line.size() && line[i] == '"') {
      std::optional<std::string> value = logfmt_internal::ParseQuoted(line, &i);
      if (!value) return std::nullopt;
      pairs.emplace_back(std::move(key), std::move(*value));
      continue;
    }
    size_t value_start = i;
    while (i < line.size() && logfmt_internal::IsBareByte(line[i])) ++i;
    if (i == value_start) return std::nullopt;
    pairs.emplace_back(std::move(key), std::string(line.substr(value_start, i - value_start)));
  }
  if (pairs.empty()) return std::nullopt;
  return pairs;
}

// The value of `key` in `pairs`, or nullopt.
inline std::optional<std::string> LogfmtValue(const LogfmtPairs& pairs, std::string_view key) {
  for (const auto& [k, v] : pairs) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace tidegate::testing
