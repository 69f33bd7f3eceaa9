// SPDX-License-Identifier: Apache-2.0
#include "common/log_format.h"

#include "common/json_escape.h"
#include "common/time_format.h"

namespace tidegate {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence starting at bytes[i], or 0 if there is none.
size_t Utf8SequenceLength(std::string_view bytes, size_t i) {
  auto c = static_cast<unsigned char>(bytes[i]);
  if (c < 0x80) return 1;
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1fU, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0fU, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07U, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > bytes.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(bytes[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3fU);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

bool NeedsLogfmtQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char ch : value) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f || ch == '=' || ch == '"' || ch == '\\') return true;
  }
  return false;
}

std::string_view LevelOrUnknown(std::string_view level) {
  return level.empty() ? std::string_view("info") : level;
}

std::string FormatLogfmt(const LogRecord& record) {
  std::string line = "ts=" + FormatRfc3339Ms(record.unix_ms) + " level=";
  AppendLogfmtValue(&line, LevelOrUnknown(record.level));
  line.append(" prog=");
  AppendLogfmtValue(&line, record.prog);
  line.append(" msg=");
  AppendLogfmtValue(&line, record.msg);
  for (const auto& [key, value] : record.fields) {
    line.push_back(' ');
    line.append(key);
    line.push_back('=');
    AppendLogfmtValue(&line, value);
  }
  line.push_back('\n');
  return line;
}

std::string FormatJson(const LogRecord& record) {
  std::string line = R"({"ts":")" + FormatRfc3339Ms(record.unix_ms) + R"(","level":)";
  AppendJsonLogString(&line, LevelOrUnknown(record.level));
  line.append(",\"prog\":");
  AppendJsonLogString(&line, record.prog);
  line.append(",\"msg\":");
  AppendJsonLogString(&line, record.msg);
  for (const auto& [key, value] : record.fields) {
    line.push_back(',');
    AppendJsonLogString(&line, key);
    line.push_back(':');
    AppendJsonLogString(&line, value);
  }
  line.append("}\n");
  return line;
}

}  // namespace

bool ParseLogFormat(std::string_view name, LogFormat* out) {
  if (name == "logfmt") {
    *out = LogFormat::kLogfmt;
  } else if (name == "json") {
    *out = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

void AppendLogfmtValue(std::string* out, std::string_view value) {
  std::string clean = SanitizeUtf8(value);
  if (NeedsLogfmtQuotes(clean)) {
    AppendJsonString(out, clean);  // logfmt quotes escape as JSON strings do
  } else {
    out->append(clean);
  }
}

void AppendJsonLogString(std::string* out, std::string_view value) {
  AppendJsonString(out, SanitizeUtf8(value));
}

std::string FormatLogRecord(LogFormat format, const LogRecord& record) {
  return format == LogFormat::kJson ? FormatJson(record) : FormatLogfmt(record);
}

}  // namespace tidegate
