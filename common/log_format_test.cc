// SPDX-License-Identifier: Apache-2.0
// The logfmt and JSON encoders of log records: quoting and escaping edge cases, one line per
// record whatever the message holds, and UTF-8 repair.
#include "common/log_format.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/support/logfmt_parser.h"

namespace {

using tidegate::AppendJsonLogString;
using tidegate::AppendLogfmtValue;
using tidegate::FormatLogRecord;
using tidegate::LogField;
using tidegate::LogFormat;
using tidegate::LogRecord;
using tidegate::testing::LogfmtValue;
using tidegate::testing::ParseLogfmtLine;

constexpr int64_t kTime = 1'796'490'000'123;  // 2026-12-05T17:00:00.123Z

std::string Logfmt(std::string_view value) {
  std::string out;
  AppendLogfmtValue(&out, value);
  return out;
}

std::string Json(std::string_view value) {
  std::string out;
  AppendJsonLogString(&out, value);
  return out;
}

}  // namespace

TEST_CASE("logfmt leaves plain values bare and quotes the rest", "[log]") {
  CHECK(Logfmt("info") == "info");
  CHECK(Logfmt("devices/+/telemetry") == "devices/+/telemetry");
  CHECK(Logfmt("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(Logfmt("") == "\"\"");
  CHECK(Logfmt("two words") == "\"two words\"");
  CHECK(Logfmt("a=b") == "\"a=b\"");
  CHECK(Logfmt("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(Logfmt("C:\\dir") == "\"C:\\\\dir\"");
  CHECK(Logfmt("line1\nline2\r\tx") == "\"line1\\nline2\\r\\tx\"");
  CHECK(Logfmt(std::string("nul\0bel\x07", 8)) == "\"nul\\u0000bel\\u0007\"");
  CHECK(Logfmt("del\x7f") == "\"del\\u007f\"");
}

TEST_CASE("logfmt and JSON replace bytes that are not UTF-8 with U+FFFD", "[log]") {
  CHECK(tidegate::SanitizeUtf8("ok\xff!") == "ok\xef\xbf\xbd!");
  CHECK(tidegate::SanitizeUtf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
  CHECK(tidegate::SanitizeUtf8("\xed\xa0\x80").size() == 9);                // surrogate
  CHECK(tidegate::SanitizeUtf8("cut \xe2\x82") == "cut \xef\xbf\xbd\xef\xbf\xbd");
  CHECK(tidegate::SanitizeUtf8("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
  CHECK(Logfmt("x\xfey") == "x\xef\xbf\xbdy");
  CHECK(Json("x\xfey") == "\"x\xef\xbf\xbdy\"");
}

TEST_CASE("JSON strings escape quotes, backslashes, newlines and control bytes", "[log]") {
  CHECK(Json("") == "\"\"");
  CHECK(Json("a=b c") == "\"a=b c\"");
  CHECK(Json("q\"b\\n\n") == "\"q\\\"b\\\\n\\n\"");
  CHECK(Json(std::string("\0\x1f", 2)) == "\"\\u0000\\u001f\"");
}

TEST_CASE("a logfmt record has ts, level, prog, msg and fields in order", "[log]") {
  const LogField fields[] = {{"count", "7"}, {"last", "retry in 3 s"}};
  std::string line = FormatLogRecord(LogFormat::kLogfmt, LogRecord{.unix_ms = kTime,
                                                                   .level = "warn",
                                                                   .prog = "tidegate",
                                                                   .msg = "suppressed repeats",
                                                                   .fields = fields});
  CHECK(line ==
        "ts=2026-12-05T17:00:00.123Z level=warn prog=tidegate msg=\"suppressed repeats\" "
        "count=7 last=\"retry in 3 s\"\n");
}

TEST_CASE("a JSON record is one object on one line", "[log]") {
  const LogField fields[] = {{"count", "2"}};
  std::string line = FormatLogRecord(LogFormat::kJson, LogRecord{.unix_ms = kTime,
                                                                 .level = "error",
                                                                 .prog = "tidegate",
                                                                 .msg = "two\nlines \"quoted\"",
                                                                 .fields = fields});
  CHECK(line ==
        "{\"ts\":\"2026-12-05T17:00:00.123Z\",\"level\":\"error\",\"prog\":\"tidegate\","
        "\"msg\":\"two\\nlines \\\"quoted\\\"\",\"count\":\"2\"}\n");
}

TEST_CASE("every logfmt record parses back to the message it was given", "[log]") {
  const std::string messages[] = {"",
                                  "plain",
                                  "key=value inside",
                                  "a \"quoted\" word and a \\ backslash",
                                  "multi\nline\r\nwith\ttabs",
                                  std::string("ctl \x01\x1b[31m\x7f", 10),
                                  "=",
                                  "\"",
                                  "trailing space "};
  for (const std::string& msg : messages) {
    std::string line = FormatLogRecord(
        LogFormat::kLogfmt,
        LogRecord{.unix_ms = kTime, .level = "info", .prog = "tidegate", .msg = msg, .fields = {}});
    REQUIRE(line.back() == '\n');
    line.pop_back();
    CHECK(line.find('\n') == std::string::npos);
    auto pairs = ParseLogfmtLine(line);
    INFO(line);
    REQUIRE(pairs);
    REQUIRE(pairs->size() == 4);
    CHECK(LogfmtValue(*pairs, "ts") == "2026-12-05T17:00:00.123Z");
    CHECK(LogfmtValue(*pairs, "level") == "info");
    CHECK(LogfmtValue(*pairs, "prog") == "tidegate");
    CHECK(LogfmtValue(*pairs, "msg") == msg);
  }
}

TEST_CASE("log formats are named logfmt and json", "[log]") {
  LogFormat format = LogFormat::kLogfmt;
  CHECK(tidegate::ParseLogFormat("json", &format));
  CHECK(format == LogFormat::kJson);
  CHECK(tidegate::ParseLogFormat("logfmt", &format));
  CHECK(format == LogFormat::kLogfmt);
  CHECK_FALSE(tidegate::ParseLogFormat("text", &format));
  CHECK_FALSE(tidegate::ParseLogFormat("JSON", &format));
}
