// SPDX-License-Identifier: Apache-2.0
// The structured sink behind spdlog: records in both formats, warnings rate-limited with a
// summary on flush once the period ended, info records never limited.
#include "common/log.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fake_clock.h"
#include "tests/support/logfmt_parser.h"

namespace {

using tidegate::testing::FakeClock;
using tidegate::testing::LogfmtValue;
using tidegate::testing::ParseLogfmtLine;

// An in-memory FILE* (open_memstream); the text is valid after a flush.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&data_, &size_)) {}
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  ~MemoryFile() {
    std::fclose(file_);
    std::free(data_);  // NOLINT(cppcoreguidelines-no-malloc): open_memstream's buffer
  }
  std::FILE* file() { return file_; }
  std::vector<std::string> Lines() {
    std::fflush(file_);
    std::vector<std::string> lines;
    std::istringstream in(std::string(data_, size_));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

spdlog::logger MakeLogger(MemoryFile& out, FakeClock& clock, tidegate::LogFormat format) {
  tidegate::LogSinkOptions options;
  options.format = format;
  options.program = "tidegate";
  options.out = out.file();
  options.clock = &clock;
  options.limits.burst = 2;
  spdlog::logger logger("test", tidegate::NewStructuredSink(std::move(options)));
  logger.set_level(spdlog::level::trace);
  return logger;
}

}  // namespace

TEST_CASE("the sink writes one logfmt record per call with the config's level names", "[log]") {
  MemoryFile out;
  FakeClock clock;
  spdlog::logger logger = MakeLogger(out, clock, tidegate::LogFormat::kLogfmt);
  logger.warn("mqtt: cannot connect to {}:{}", "127.0.0.1", 1883);
  logger.debug("buffer: {} records", 3);
  std::vector<std::string> lines = out.Lines();
  REQUIRE(lines.size() == 2);
  auto first = ParseLogfmtLine(lines[0]);
  REQUIRE(first);
  CHECK(LogfmtValue(*first, "level") == "warn");
  CHECK(LogfmtValue(*first, "prog") == "tidegate");
  CHECK(LogfmtValue(*first, "msg") == "mqtt: cannot connect to 127.0.0.1:1883");
  CHECK(lines[0].rfind("ts=20", 0) == 0);
  auto second = ParseLogfmtLine(lines[1]);
  REQUIRE(second);
  CHECK(LogfmtValue(*second, "level") == "debug");
}

TEST_CASE("the sink writes JSON lines when asked", "[log]") {
  MemoryFile out;
  FakeClock clock;
  spdlog::logger logger = MakeLogger(out, clock, tidegate::LogFormat::kJson);
  logger.error("bad \"thing\"");
  std::vector<std::string> lines = out.Lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"("level":"error","prog":"tidegate","msg":"bad \"thing\""})") !=
        std::string::npos);
  CHECK(lines[0].rfind("{\"ts\":\"20", 0) == 0);
}

TEST_CASE("repeated warnings are suppressed and summarized on a flush after the period", "[log]") {
  MemoryFile out;
  FakeClock clock;
  spdlog::logger logger = MakeLogger(out, clock, tidegate::LogFormat::kLogfmt);
  for (int i = 0; i < 10; ++i) logger.warn("uplink: retry {} in {} ms", i, 100 * i);
  for (int i = 0; i < 10; ++i) logger.info("uplink: retry {} in {} ms", i, 100 * i);
  CHECK(out.Lines().size() == 12);  // 2 warnings, every info line
  logger.flush();
  CHECK(out.Lines().size() == 12);  // the period has not ended
  clock.Advance(61'000);
  logger.flush();
  std::vector<std::string> lines = out.Lines();
  REQUIRE(lines.size() == 13);
  auto summary = ParseLogfmtLine(lines.back());
  REQUIRE(summary);
  CHECK(LogfmtValue(*summary, "level") == "warn");
  CHECK(LogfmtValue(*summary, "msg") == "suppressed repeats");
  CHECK(LogfmtValue(*summary, "ts") == "2023-11-14T22:14:21.000Z");  // the clock's, at the flush
  CHECK(LogfmtValue(*summary, "count") == "8");
  CHECK(LogfmtValue(*summary, "last") == "uplink: retry 9 in 900 ms");
}

TEST_CASE("InitLogging rejects unknown levels and formats", "[log]") {
  CHECK(tidegate::InitLogging("loud", "tidegate").code() == tidegate::StatusCode::kInvalidArgument);
  CHECK(tidegate::InitLogging("info", "tidegate", "xml").code() ==
        tidegate::StatusCode::kInvalidArgument);
  CHECK(tidegate::IsValidLogFormat("json"));
  CHECK_FALSE(tidegate::IsValidLogFormat("text"));
}
