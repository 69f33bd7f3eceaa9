// SPDX-License-Identifier: Apache-2.0
// Issue 10 through the real binary: `tidegate config check` refuses every duration one past
// its maximum (exit 2, naming file, line, key and the allowed range) and accepts it at its
// maximum, and refuses hostile files (nested 10,000 deep, 50 MB, a billion laughs) fast,
// naming the file. The ranges are read from the binary's own messages, so they are written
// only in agent/config_key_table.cc.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "common/units.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/config_yaml.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

// Every duration key of the config (SPEC "Config"), as the range table names them.
const char* const kDurationKeys[] = {
    "source.mqtt.keepalive",
    "events.max_future_skew",
    "privacy.key_epoch",
    "dedup.window",
    "aggregate[].window.tumbling",
    "aggregate[].window.hopping.size",
    "aggregate[].window.hopping.slide",
    "aggregate[].watermark.max_out_of_order",
    "aggregate[].watermark.idle_timeout",
    "aggregate[].allowed_lateness",
    "buffer.max_age",
    "buffer.commit_interval",
    "buffer.state_ttl",
    "uplink.batch.linger",
    "uplink.retry.initial",
    "uplink.retry.max",
    "uplink.connect_timeout",
    "uplink.request_timeout",
    "remote_config.poll_interval",
    "remote_config.rollback_after",
};

struct Checked {
  CommandResult result;
  std::string prefix;  // "FILE:LINE: key.path: " of the key's line
};

Checked ConfigCheck(const TempDir& dir, std::string_view path, const std::string& value) {
  const std::string file = dir.File("bounds.yaml");
  int line = 0;
  const std::string yaml = MinimalConfigWith(path, value).Render(path, &line);
  REQUIRE(line > 0);
  RequireOk(WriteFile(file, yaml));
  Result<CommandResult> run =
      RunCommand({BinaryPath("tidegate"), "config", "check", file}, seconds(30));
  RequireOk(run.status());
  return {*run, file + ":" + std::to_string(line) + ": " + IndexedKeyPath(path) + ": "};
}

TEST_CASE("config check refuses each duration one past its maximum and accepts the maximum",
          "[integration][issue-10]") {
  TempDir dir("config-bounds");
  const std::regex allowed(R"(\(allowed: ([0-9a-z]+)\.\.([0-9a-z]+)\))");
  for (const char* key : kDurationKeys) {
    INFO(key);
    // The issue's absurd value, which also tells the range.
    Checked absurd = ConfigCheck(dir, key, "99999999999d");
    INFO(absurd.result.stderr_text);
    CHECK(absurd.result.exit_code == 2);
    const std::string want = absurd.prefix + "'99999999999d' is out of range (allowed: ";
    REQUIRE(absurd.result.stderr_text.find(want) != std::string::npos);
    std::smatch range;
    const std::string message = absurd.result.stderr_text.substr(
        absurd.result.stderr_text.find(want) + absurd.prefix.size());
    REQUIRE(std::regex_search(message, range, allowed));
    Result<std::chrono::milliseconds> max = ParseDuration(range[2].str());
    RequireOk(max.status());
    std::fprintf(stderr, "%s: allowed %s..%s\n", key, range[1].str().c_str(),
                 range[2].str().c_str());

    const std::string past = FormatDuration(*max + std::chrono::milliseconds(1));
    Checked over = ConfigCheck(dir, key, past);
    CHECK(over.result.exit_code == 2);
    CHECK_THAT(over.result.stderr_text,
               Catch::Contains(over.prefix + "'" + past + "' is out of range " + range[0].str()));
    Checked at = ConfigCheck(dir, key, range[2].str());
    INFO(at.result.stderr_text);
    CHECK(at.result.exit_code == 0);
    CHECK_THAT(at.result.stdout_text, Catch::Contains(": OK"));
  }
}

// Runs `config check` on file and returns what it said; REQUIREs exit 2 within 10 s.
std::string RefusedFast(const std::string& file) {
  const auto start = std::chrono::steady_clock::now();
  Result<CommandResult> run =
      RunCommand({BinaryPath("tidegate"), "config", "check", file}, seconds(10));
  RequireOk(run.status());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::fprintf(stderr, "%s refused in %lld ms\n", file.c_str(), static_cast<long long>(ms));
  INFO(run->stdout_text << run->stderr_text);
  CHECK(run->exit_code == 2);
  CHECK(ms < 5'000);  // a full parse of these files takes far longer, or never ends
  return run->stderr_text;
}

TEST_CASE("config check refuses hostile files fast, naming the file", "[integration][issue-10]") {
  TempDir dir("config-hostile");
  SECTION("nested 10,000 levels deep") {
    const std::string file = dir.File("deep.yaml");
    RequireOk(WriteFile(file, "agent: " + std::string(10'000, '[') + std::string(10'000, ']')));
    CHECK_THAT(RefusedFast(file), Catch::Contains(file + ":1: nested deeper than 64 levels"));
  }
  SECTION("50 MB") {
    const std::string file = dir.File("big.yaml");
    std::string line = "# " + std::string(98, 'x') + "\n";
    std::string text;
    text.reserve(50'000'000);
    while (text.size() < 50'000'000) text += line;
    RequireOk(WriteFile(file, text));
    CHECK_THAT(
        RefusedFast(file),
        Catch::Contains(file + ": larger than 1048576 bytes (1MiB), the most a config file"));
  }
  SECTION("a billion laughs") {
    const std::string file = dir.File("laughs.yaml");
    std::string text = "agent: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i <= 9; ++i) {
      text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
      for (int j = 0; j < 10; ++j) text += (j ? ", *l" : "*l") + std::to_string(i - 1);
      text += "]\n";
    }
    RequireOk(WriteFile(file, text));
    CHECK_THAT(RefusedFast(file), Catch::Contains(file + ":5: more than 100000 nodes with aliases "
                                                         "expanded"));
  }
}

}  // namespace
}  // namespace tidegate::testing
