// SPDX-License-Identifier: Apache-2.0
// Issue 11: `tidegate config check` reports what `run` would refuse or silently get wrong,
// through the real binary, each with its exact message: privacy rules and aggregations
// matching no subscribed topic, missing or group-readable key files, a config file readable
// by others that holds a password, and likely mistakes in topic filters (warnings: exit 0).
// `run` refuses the same key files with the same words, before touching the state dir.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

CommandResult Run(const std::vector<std::string>& argv) {
  Result<CommandResult> run = RunCommand(argv, seconds(30));
  RequireOk(run.status());
  return *run;
}

// A valid config of 9 lines (topics on lines 7 and 8) followed by `tail` from line 10.
std::string Config(const TempDir& dir, const std::string& tail) {
  return "agent:\n"          // 1
         "  id: gw-check\n"  // 2
         "  state_dir: " +
         dir.File("state") +
         "\n"                                                      // 3
         "source:\n"                                               // 4
         "  mqtt:\n"                                               // 5
         "    topics:\n"                                           // 6
         "      - {filter: devices/+/telemetry, qos: 1}\n"         // 7
         "      - {filter: devices/+/alarm, qos: 1}\n"             // 8
         "uplink: {url: 'https://localhost:8443/v1/batches'}\n" +  // 9
         tail;
}

CommandResult Check(const std::string& file) {
  return Run({BinaryPath("tidegate"), "config", "check", file});
}

// A token key file made by `tidegate keys init`, then given `mode`.
std::string TokenKeys(const TempDir& dir, mode_t mode) {
  const std::string keys = dir.MakeDir("keys");
  CommandResult init = Run({BinaryPath("tidegate"), "keys", "init", "--dir", keys});
  REQUIRE(init.exit_code == 0);
  std::string key_file = keys + "/token.keys";
  REQUIRE(::chmod(key_file.c_str(), mode) == 0);
  return key_file;
}

std::string KeyFileConfig(const TempDir& dir, const std::string& key_file) {
  return Config(dir,
                "privacy:\n"  // 10
                "  key_file: " +
                    key_file +
                    "\n"                                  // 11
                    "  rules:\n"                          // 12
                    "    - match: devices/+/telemetry\n"  // 13
                    "      tokenize: [/user/email]\n");   // 14
}

TEST_CASE("config check: a privacy rule matching no subscribed topic is an error",
          "[integration][issue-11]") {
  TempDir dir("check-privacy-match");
  const std::string file = dir.File("agent.yaml");
  RequireOk(WriteFile(file, Config(dir,
                                   "privacy:\n"                         // 10
                                   "  rules:\n"                         // 11
                                   "    - match: devices/+/telemtry\n"  // 12
                                   "      drop: [/user/email]\n")));    // 13
  CommandResult check = Check(file);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK(check.stderr_text == file +
                                 ":12: privacy.rules[0].match: 'devices/+/telemtry' matches no "
                                 "subscribed topic (source.mqtt.topics: devices/+/telemetry, "
                                 "devices/+/alarm)\n");
  CHECK(check.stdout_text.empty());
}

TEST_CASE("config check: an aggregation matching no subscribed topic is a warning, exit 0",
          "[integration][issue-11]") {
  TempDir dir("check-aggregate-match");
  const std::string file = dir.File("agent.yaml");
  RequireOk(WriteFile(file, Config(dir,
                                   "aggregate:\n"                        // 10
                                   "  - name: temp_1m\n"                 // 11
                                   "    match: devices/+/telemtry\n"     // 12
                                   "    window: {tumbling: 1m}\n"        // 13
                                   "    measures: {/temp: [avg]}\n")));  // 14
  CommandResult check = Check(file);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 0);
  CHECK(check.stderr_text == file +
                                 ":12: aggregate[0].match: warning: 'devices/+/telemtry' matches "
                                 "no subscribed topic (source.mqtt.topics: devices/+/telemetry, "
                                 "devices/+/alarm)\n");
  CHECK_THAT(check.stdout_text, Catch::Contains(": OK"));
}

TEST_CASE("config check names a duplicate key with both lines, and a tab indent as such",
          "[integration][issue-11]") {
  TempDir dir("check-yaml-shape");
  const std::string duplicate = dir.File("duplicate.yaml");
  RequireOk(WriteFile(duplicate, Config(dir,
                                        "dedup:\n"            // 10
                                        "  window: 10m\n"     // 11
                                        "  window: 1m\n")));  // 12
  CommandResult check = Check(duplicate);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK(check.stderr_text == duplicate + ":12: dedup.window: duplicate key (first at line 11)\n");

  const std::string tab = dir.File("tab.yaml");
  RequireOk(WriteFile(tab, Config(dir,
                                  "dedup:\n"             // 10
                                  "\twindow: 10m\n")));  // 11
  check = Check(tab);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK(check.stderr_text == tab + ":11: tabs are not allowed for indentation; use spaces\n");
}

TEST_CASE("config check and run refuse a missing key file with the errno text",
          "[integration][issue-11]") {
  TempDir dir("check-missing-key");
  const std::string file = dir.File("agent.yaml");
  const std::string key_file = dir.File("keys/token.key");
  RequireOk(WriteFile(file, KeyFileConfig(dir, key_file)));
  const std::string expected =
      file + ":11: privacy.key_file: cannot open '" + key_file + "': No such file or directory";

  CommandResult check = Check(file);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK(check.stderr_text == expected + "\n");

  CommandResult run = Run({BinaryPath("tidegate"), "run", "-c", file});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.stderr_text, Catch::Contains(expected));
  CHECK_FALSE(std::filesystem::exists(dir.File("state")));
}

TEST_CASE("config check and run refuse a key file readable by others with the same words",
          "[integration][issue-11]") {
  TempDir dir("check-key-mode");
  const std::string file = dir.File("agent.yaml");
  const std::string key_file = TokenKeys(dir, 0644);
  RequireOk(WriteFile(file, KeyFileConfig(dir, key_file)));
  const std::string expected = file + ":11: privacy.key_file: key file " + key_file +
                               " has mode 0644: it must not be readable by group or others "
                               "(chmod 600 " +
                               key_file + ")";

  CommandResult check = Check(file);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK(check.stderr_text == expected + "\n");

  CommandResult run = Run({BinaryPath("tidegate"), "run", "-c", file});
  INFO(run.stderr_text);
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.stderr_text, Catch::Contains(expected));
  CHECK_FALSE(std::filesystem::exists(dir.File("state")));

  REQUIRE(::chmod(key_file.c_str(), 0600) == 0);
  CommandResult fixed = Check(file);
  INFO(fixed.stderr_text);
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.stderr_text.empty());
}

TEST_CASE("config check refuses a config readable by others that holds a password",
          "[integration][issue-11]") {
  TempDir dir("check-password");
  const std::string file = dir.File("agent.yaml");
  std::string yaml = Config(dir, "");
  yaml.insert(yaml.find("    topics:"),
              "    credentials: {username: gw, password: s3cret}\n");  // line 6
  RequireOk(WriteFile(file, yaml, 0644));
  CommandResult check = Check(file);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK(check.stderr_text ==
        file + ":6: source.mqtt.credentials.password: " + file +
            " has mode 0644 and holds this password: it must not be readable by group or "
            "others (chmod 600 " +
            file +
            ", or put the password in a mode 0600 file named by "
            "source.mqtt.credentials.password_file)\n");
  CHECK(check.stderr_text.find("s3cret") == std::string::npos);

  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  CHECK(Check(file).exit_code == 0);
}

TEST_CASE("config check warns of '*' and a trailing '/' in a topic filter, exit 0",
          "[integration][issue-11]") {
  TempDir dir("check-filter-mistakes");
  const std::string file = dir.File("agent.yaml");
  std::string yaml = Config(dir, "");
  yaml.replace(yaml.find("devices/+/telemetry"), 19, "devices/*/telemetry");
  yaml.replace(yaml.find("devices/+/alarm"), 15, "devices/alarm/");
  RequireOk(WriteFile(file, yaml));
  CommandResult check = Check(file);
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 0);
  CHECK(check.stderr_text ==
        file +
            ":7: source.mqtt.topics[0].filter: warning: 'devices/*/telemetry' has a literal "
            "'*': MQTT's wildcards are + (one level) and # (all levels below)\n" +
            file +
            ":8: source.mqtt.topics[1].filter: warning: 'devices/alarm/' ends with '/', so it "
            "matches only topics whose last level is empty (did you mean 'devices/alarm' or "
            "'devices/alarm/#'?)\n");
  CHECK_THAT(check.stdout_text, Catch::Contains(": OK"));
}

TEST_CASE("config check --no-files skips the files a config names", "[integration][issue-11]") {
  TempDir dir("check-no-files");
  const std::string file = dir.File("agent.yaml");
  RequireOk(WriteFile(file, KeyFileConfig(dir, dir.File("keys/token.key"))));
  CommandResult check = Run({BinaryPath("tidegate"), "config", "check", "--no-files", file});
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 0);
  CHECK(check.stderr_text.empty());
}

// The 1-based line of the first line of file containing text; 0 if none.
int LineOf(const std::string& file, const std::string& text) {
  std::vector<std::string> lines = ReadLines(file);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(text) != std::string::npos) return static_cast<int>(i + 1);
  }
  return 0;
}

TEST_CASE("run logs the warnings of config check at startup and runs on",
          "[integration][issue-11]") {
  E2eStack stack("check-run-warning");
  stack.mutable_options().topics_yaml =
      "      - {filter: devices/+/telemetry, qos: 1, priority: 5}\n"
      "      - {filter: devices/*/status, qos: 1, priority: 5}\n";
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  RequireOk(stack.LaunchAgent(), &stack);
  RequireOk(stack.WaitAgentConnected(seconds(15)), &stack);
  const std::string config = stack.AgentConfigPath();
  const int line = LineOf(config, "devices/*/status");
  REQUIRE(line > 0);
  const std::string expected = config + ":" + std::to_string(line) +
                               ": source.mqtt.topics[1].filter: warning: 'devices/*/status' has a "
                               "literal '*': MQTT's wildcards are + (one level) and # (all "
                               "levels below)";
  INFO(stack.Diagnostics());
  CHECK_THAT(ReadFile(stack.AgentLogPath()), Catch::Contains(expected));
  CommandResult check = Check(config);
  CHECK(check.exit_code == 0);
  CHECK(check.stderr_text == expected + "\n");
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
