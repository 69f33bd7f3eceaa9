// SPDX-License-Identifier: Apache-2.0
#include "collector/store/pg_text.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace tidegate::collector::pg {

void ArrayLiteral::Separator() {
  if (out_.size() > 1) out_.push_back(',');
}

void ArrayLiteral::AddText(std::string_view text) {
  Separator();
  out_.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out_.push_back('\\');
    out_.push_back(c);
  }
  out_.push_back('"');
}

void ArrayLiteral::AddInt(int64_t value) {
  Separator();
  fmt::format_to(std::back_inserter(out_), "{}", value);
}

void ArrayLiteral::AddBool(bool value) {
  Separator();
  out_.push_back(value ? 't' : 'f');
}

void ArrayLiteral::AddNull() {
  Separator();
  out_.append("NULL");
}

void ArrayLiteral::AddDouble(double value) {
  Separator();
  if (std::isnan(value)) {
    out_.append("NaN");
  } else if (std::isinf(value)) {
    out_.append(value > 0 ? "Infinity" : "-Infinity");
  } else {
    fmt::format_to(std::back_inserter(out_), "{}", value);
  }
}

const std::string& ArrayLiteral::Finish() {
  if (!finished_) out_.push_back('}');
  finished_ = true;
  return out_;
}

void ArrayLiteral::Clear() {
  out_ = "{";
  finished_ = false;
}

namespace {

// Replaces the value after every "password=" (key=value form and URL query parameters).
std::string RedactPasswordParams(std::string text) {
  static constexpr std::string_view kKey = "password=";
  size_t pos = 0;
  while ((pos = text.find(kKey, pos)) != std::string::npos) {
    size_t start = pos + kKey.size();
    size_t end = start;
    if (end < text.size() && text[end] == '\'') {
      ++end;
      while (end < text.size() && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
      end = end < text.size() ? end + 1 : text.size();
    } else {
      while (end < text.size() && text[end] != ' ' && text[end] != '&') ++end;
    }
    text.replace(start, end - start, "***");
    pos = start + 3;
  }
  return text;
}

}  // namespace

std::string RedactConninfo(std::string_view conninfo) {
  std::string text(conninfo);
  size_t scheme = text.find("://");
  if (scheme != std::string::npos) {
    size_t authority = scheme + 3;
    size_t end = text.find_first_of("/?", authority);
    if (end == std::string::npos) end = text.size();
    size_t at = text.rfind('@', end);
    if (at != std::string::npos && at >= authority) {
      size_t colon = text.find(':', authority);
      if (colon != std::string::npos && colon < at) {
        text.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  return RedactPasswordParams(std::move(text));
}

}  // namespace tidegate::collector::pg
