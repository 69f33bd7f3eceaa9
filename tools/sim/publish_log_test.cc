// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/publish_log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace tidegate::sim {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh file in the build tree, where tests may write.
std::string TempPath() {
  return std::string(TG_BINARY_DIR) + "/publish_log_test." + std::to_string(::getpid()) + ".ndjson";
}

TEST_CASE("a log line embeds the payload as JSON, not as a string", "[sim]") {
  CHECK(FormatLogLine("devices/dev-0001/telemetry", 1, false, R"({"a":"b"})") ==
        "{\"topic\":\"devices/dev-0001/telemetry\",\"qos\":1,\"duplicate\":false,"
        "\"payload\":{\"a\":\"b\"}}\n");
  CHECK(FormatLogLine("t/\"x\"", 0, true, "{}") ==
        "{\"topic\":\"t/\\\"x\\\"\",\"qos\":0,\"duplicate\":true,\"payload\":{}}\n");
}

TEST_CASE("the publish log holds exactly the appended lines after Close", "[sim]") {
  const std::string path = TempPath();
  Result<std::unique_ptr<PublishLog>> log = PublishLog::Open(path);
  REQUIRE(log.ok());
  (*log)->Append(FormatLogLine("a", 1, false, "{}"));
  (*log)->Append(FormatLogLine("b", 1, true, "{}"));
  CHECK((*log)->lines() == 2);
  REQUIRE((*log)->Close().ok());
  CHECK(ReadFile(path) == FormatLogLine("a", 1, false, "{}") + FormatLogLine("b", 1, true, "{}"));
  ::unlink(path.c_str());
}

TEST_CASE("publish log failures are reported, not ignored", "[sim]") {
  SECTION("a directory that does not exist") {
    Result<std::unique_ptr<PublishLog>> log = PublishLog::Open("/nonexistent-dir/sim.ndjson");
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == StatusCode::kIOError);
    CHECK(log.status().message().find("/nonexistent-dir/sim.ndjson") != std::string::npos);
  }
  SECTION("a full disk shows up at Close") {
    Result<std::unique_ptr<PublishLog>> log = PublishLog::Open("/dev/full");
    REQUIRE(log.ok());
    (*log)->Append(FormatLogLine("a", 1, false, "{}"));
    Status closed = (*log)->Close();
    CHECK(closed.code() == StatusCode::kIOError);
  }
}

}  // namespace
}  // namespace tidegate::sim
