// SPDX-License-Identifier: Apache-2.0
// The agent's and the collector's stderr as a log shipper reads it: every line of a real run
// at debug level (startup, a good event, a malformed payload carrying quotes, a newline,
// bytes that are not UTF-8 and a canary, shutdown) parses as strict logfmt by default, or as
// a JSON object (simdjson, which also rejects invalid UTF-8) with agent.log_format: json or
// `run --log-format json`, which wins over the config. The canary never appears.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/logfmt_parser.h"
#include "tests/support/process.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;

struct Case {
  std::string config_format;  // agent.log_format; "" = not set
  std::string flag_format;    // run --log-format; "" = not given
  std::string expected;       // what the lines must be
};

void Publish(E2eStack& stack, const std::string& payload) {
  auto r =
      RunCommand({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(stack.broker().port()),
                  "-q", "1", "-t", "devices/dev-1/telemetry", "-m", payload},
                 milliseconds(10'000));
  REQUIRE(r.ok());
  REQUIRE(r->exit_code == 0);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ts, level, prog and msg of one line, whichever the format; fails the test if it does not
// parse or lacks one of them.
struct Record {
  std::string ts, level, prog, msg;
};

Record ParseLogfmt(const std::string& line) {
  auto pairs = ParseLogfmtLine(line);
  INFO(line);
  REQUIRE(pairs);
  Record r;
  for (auto [key, out] : {std::pair{"ts", &r.ts}, std::pair{"level", &r.level},
                          std::pair{"prog", &r.prog}, std::pair{"msg", &r.msg}}) {
    auto value = LogfmtValue(*pairs, key);
    REQUIRE(value);
    *out = *value;
  }
  return r;
}

Record ParseJson(simdjson::dom::parser& parser, const std::string& line) {
  INFO(line);
  simdjson::dom::object object;
  REQUIRE(parser.parse(line).get(object) == simdjson::SUCCESS);
  Record r;
  for (auto [key, out] : {std::pair{"ts", &r.ts}, std::pair{"level", &r.level},
                          std::pair{"prog", &r.prog}, std::pair{"msg", &r.msg}}) {
    std::string_view value;
    REQUIRE(object[key].get(value) == simdjson::SUCCESS);
    *out = std::string(value);
  }
  return r;
}

// The collector's documented announcement on stdout, which shares its file in the fixture.
constexpr std::string_view kAnnouncement = "tidegate-collector: listening on ";

std::vector<Record> ParseAll(const std::string& text, const std::string& format) {
  simdjson::dom::parser parser;
  std::vector<Record> records;
  for (const std::string& line : Lines(text)) {
    if (line.rfind(kAnnouncement, 0) == 0) continue;
    records.push_back(format == "json" ? ParseJson(parser, line) : ParseLogfmt(line));
    const Record& r = records.back();
    CHECK(r.ts.size() == 24);  // 2026-12-05T17:00:00.123Z
    CHECK(r.ts.back() == 'Z');
    static const std::set<std::string> kLevels = {"trace", "debug",    "info",
                                                  "warn",  "critical", "error"};
    CHECK(kLevels.count(r.level) == 1);
  }
  return records;
}

bool AnyMsgContains(const std::vector<Record>& records, const std::string& text) {
  for (const Record& r : records) {
    if (r.msg.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("every log line of the agent and the collector parses in the chosen format",
          "[integration][log]") {
  const Case c = GENERATE(Case{"", "", "logfmt"}, Case{"json", "", "json"},
                          Case{"logfmt", "json", "json"}, Case{"json", "logfmt", "logfmt"});
  const std::string canary = "canary.log." + std::to_string(TestSeed() % 1'000'000) + "@x.org";
  E2eStack stack("log-" + c.expected + (c.flag_format.empty() ? "" : "-flag"));
  StackOptions& options = stack.mutable_options();
  options.log_level = "debug";
  options.log_format = c.config_format;
  if (!c.flag_format.empty()) options.agent_args = {"--log-format", c.flag_format};
  options.collector_args = {"--log-level", "debug", "--log-format", c.expected};
  RequireOk(stack.Start(), &stack);
  Publish(stack, R"({"device_id":"dev-1","msg_id":"m1","ts":1764000000000,"v":1})");
  Publish(stack, "{\"broken \\\"quote\\\"\n\xff\xfe: \"" + canary + "\"");
  REQUIRE(stack.WaitForLanded(1, milliseconds(30'000)));
  REQUIRE(stack.WaitForDrained(milliseconds(30'000)));
  RequireOk(stack.StopAgent(), &stack);
  RequireOk(stack.StopCollector(), &stack);

  const std::string agent_log = ReadFile(stack.AgentLogPath());
  const std::string collector_log = ReadFile(stack.dir().File("collector.log"));
  CHECK(agent_log.find(canary) == std::string::npos);
  CHECK(collector_log.find(canary) == std::string::npos);
  std::vector<Record> agent = ParseAll(agent_log, c.expected);
  std::vector<Record> collector = ParseAll(collector_log, c.expected);
  CHECK(agent.size() >= 4);
  for (const Record& r : agent) CHECK(r.prog == "tidegate");
  for (const Record& r : collector) CHECK(r.prog == "tidegate-collector");
  CHECK(AnyMsgContains(agent, "mqtt: connected"));
  CHECK(AnyMsgContains(agent, "ingest: dead letter"));  // the debug line, without the payload
  CHECK(AnyMsgContains(agent, "stopped cleanly"));
  CHECK(AnyMsgContains(collector, "landed"));
}

}  // namespace tidegate::testing
