// SPDX-License-Identifier: Apache-2.0
// The command lines as users meet them, through the real binaries: every shipped config
// passes `tidegate config check`, an unknown key is exit 2 naming file, line and key,
// --version answers, every subcommand's --help works, and `tidegate buffer stats` reads a
// buffer without ever creating or changing one.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

CommandResult Run(const std::vector<std::string>& argv) {
  Result<CommandResult> run = RunCommand(argv, seconds(30));
  RequireOk(run.status());
  return *run;
}

std::vector<std::string> YamlFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  return files;
}

// The subcommand names listed under "Subcommands:" in CLI11's help text.
std::vector<std::string> Subcommands(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream lines(help);
  bool in_section = false;
  for (std::string line; std::getline(lines, line);) {
    if (line == "Subcommands:") {
      in_section = true;
    } else if (in_section && line.empty()) {
      break;
    } else if (in_section && line.size() > 2 && line.compare(0, 2, "  ") == 0 && line[2] != ' ') {
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

TEST_CASE("tidegate config check accepts every shipped config", "[integration]") {
  std::vector<std::string> files = YamlFilesIn(SourcePath("configs"));
  std::vector<std::string> examples = YamlFilesIn(SourcePath("configs/examples"));
  files.insert(files.end(), examples.begin(), examples.end());
  REQUIRE_FALSE(files.empty());
  for (const std::string& file : files) {
    // --no-files: they name the gateway's key and CA files (/etc/tidegate/...), not this
    // machine's; config_check_test.cc covers the file checks.
    CommandResult check = Run({BinaryPath("tidegate"), "config", "check", "--no-files", file});
    INFO(file << "\n" << check.stdout_text << check.stderr_text);
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.stdout_text, Catch::Contains(": OK"));
    CHECK(check.stderr_text.empty());  // not even a warning
  }
}

TEST_CASE("tidegate config check names file, line and key of every unknown key, exit 2",
          "[integration]") {
  TempDir dir("cli-config");
  const std::string file = dir.File("typo.yaml");
  RequireOk(WriteFile(file,
                      "agent:\n"         // 1
                      "  id: gw-typo\n"  // 2
                      "  state_dir: " +
                          dir.File("state") +
                          "\n"                                               // 3
                          "source:\n"                                        // 4
                          "  mqtt:\n"                                        // 5
                          "    topics:\n"                                    // 6
                          "      - {filter: devices/+/telemetry, qos: 1}\n"  // 7
                          "    keep_alive: 30s\n"                            // 8
                          "buffer:\n"                                        // 9
                          "  max_bytez: 64MiB\n"                             // 10
                          "uplink:\n"                                        // 11
                          "  url: https://localhost:8443/v1/batches\n"));    // 12
  CommandResult check = Run({BinaryPath("tidegate"), "config", "check", file});
  INFO(check.stdout_text << check.stderr_text);
  CHECK(check.exit_code == 2);
  CHECK_THAT(check.stderr_text, Catch::Contains(file + ":8: source.mqtt.keep_alive: unknown key "
                                                       "(did you mean 'keepalive'?)"));
  CHECK_THAT(check.stderr_text, Catch::Contains(file + ":10: buffer.max_bytez: unknown key"));
  CHECK_THAT(check.stdout_text, !Catch::Contains("OK"));

  // `run` refuses the same file the same way, before touching anything.
  CommandResult run = Run({BinaryPath("tidegate"), "run", "-c", file});
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.stderr_text, Catch::Contains(file + ":10: buffer.max_bytez: unknown key"));
  CHECK_FALSE(std::filesystem::exists(dir.File("state")));
}

// A valid config whose agent.state_dir is state_dir.
std::string ConfigWithStateDir(const TempDir& dir, const std::string& state_dir) {
  std::string file = dir.File("agent.yaml");
  RequireOk(WriteFile(file, "agent:\n  id: gw-stats\n  state_dir: " + state_dir +
                                "\nsource:\n  mqtt:\n    topics:\n"
                                "      - {filter: devices/+/telemetry, qos: 1}\n"
                                "uplink:\n  url: https://localhost:8443/v1/batches\n"));
  return file;
}

TEST_CASE("tidegate buffer stats without a buffer exits 1 naming it and creates nothing",
          "[integration][issue-11]") {
  TempDir dir("cli-stats-none");
  SECTION("state_dir missing") {}
  SECTION("state_dir empty") { dir.MakeDir("state"); }
  const bool existed = std::filesystem::exists(dir.File("state"));
  const std::string config = ConfigWithStateDir(dir, dir.File("state"));
  CommandResult stats = Run({BinaryPath("tidegate"), "buffer", "stats", "-c", config});
  INFO(stats.stdout_text << stats.stderr_text);
  CHECK(stats.exit_code == 1);
  CHECK(stats.stderr_text == "no buffer at " + dir.File("state") +
                                 "/buffer.db (has the agent run with this state_dir?)\n");
  CHECK(stats.stdout_text.empty());
  CHECK(std::filesystem::exists(dir.File("state")) == existed);
  CHECK_FALSE(std::filesystem::exists(dir.File("state") + "/buffer.db"));
}

TEST_CASE("tidegate buffer stats reads a running agent's buffer without disturbing it",
          "[integration][issue-11]") {
  E2eStack stack("cli-stats-running");
  RequireOk(stack.Start(), &stack);
  RequireOk(stack.StopCollector(), &stack);  // the events stay buffered
  RequireOk(
      stack.StartSim({"--count", "30", "--rate", "500", "--seed", std::to_string(TestSeed())}),
      &stack);
  Result<int> sim = stack.WaitSim(seconds(60));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_buffer_records") == 30.0; }, seconds(20),
                    milliseconds(50)));

  Result<CommandResult> stats =
      stack.RunTidegate({"buffer", "stats", "-c", stack.AgentConfigPath()});
  RequireOk(stats.status(), &stack);
  INFO(stats->stdout_text << stats->stderr_text);
  CHECK(stats->exit_code == 0);
  CHECK_THAT(stats->stdout_text,
             Catch::Contains("buffer:            " + stack.StateDir() + "/buffer.db\n"));
  CHECK_THAT(stats->stdout_text, Catch::Contains("records:           30\n"));
  const size_t id_at = stats->stdout_text.find("buffer_id:         ");
  REQUIRE(id_at != std::string::npos);
  CHECK(stats->stdout_text.find('\n', id_at) == id_at + 19 + 32);  // 32 hex digits
  CHECK(stack.AgentRunning());

  // The agent carries on: everything lands once the receiver is back.
  RequireOk(stack.StartCollector(), &stack);
  CHECK(stack.WaitForLanded(30, seconds(60)));
  CHECK(stack.WaitForDrained(seconds(30)));
  RequireOk(stack.StopAgent(), &stack);
  // And with the agent stopped, from the files alone.
  Result<CommandResult> after =
      stack.RunTidegate({"buffer", "stats", "-c", stack.AgentConfigPath()});
  RequireOk(after.status(), &stack);
  CHECK(after->exit_code == 0);
  CHECK_THAT(after->stdout_text, Catch::Contains("records:           0\n"));
}

TEST_CASE("tidegate-sim refuses bad topic templates and credentials with exit 2",
          "[integration][issue-11]") {
  TempDir dir("cli-sim-usage");
  const std::string password_file = dir.File("pass");
  RequireOk(WriteFile(password_file, "s3cret-value\n"));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--password", "s3cret-value"}, "needs --username"},
      {{"--password-file", password_file}, "needs --username"},
      {{"--username", "u", "--password", "p", "--password-file", password_file}, "excludes"},
      {{"--topic", "a/{device}", "--topic-prefix", "x"}, "exclude each other"},
      {{"--topic", "a/+/b"}, "wildcards"},
      {{"--topic", "a/{devices}"}, "only placeholder is {device}"},
      {{"--topic", "a/{device}@0"}, "weight"},
      {{"--cert-file", password_file}, "--key-file"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = {BinaryPath("tidegate-sim"), "--port", "1", "--count", "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult run = Run(argv);
    INFO(JoinArgv(argv) << "\n" << run.stderr_text);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.stderr_text, Catch::Contains(message));
    CHECK_THAT(run.stderr_text + run.stdout_text, !Catch::Contains("s3cret-value"));
  }
}

TEST_CASE("tidegate --version prints the version", "[integration]") {
  CommandResult version = Run({BinaryPath("tidegate"), "--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.stdout_text, Catch::Matches("tidegate [0-9]+\\.[0-9]+\\.[0-9]+[^\n]*\n"));
}

TEST_CASE("every subcommand's --help exits 0, and bad usage exits 2", "[integration]") {
  // Walks the tree from the top-level help, so a new subcommand is covered without edits.
  std::vector<std::vector<std::string>> pending = {{}};
  std::vector<std::string> seen;
  while (!pending.empty()) {
    std::vector<std::string> path = pending.back();
    pending.pop_back();
    std::vector<std::string> argv = {BinaryPath("tidegate")};
    argv.insert(argv.end(), path.begin(), path.end());
    argv.emplace_back("--help");
    CommandResult help = Run(argv);
    INFO(JoinArgv(argv) << "\n" << help.stderr_text);
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.stdout_text, Catch::Contains("Usage: tidegate"));
    for (const std::string& sub : Subcommands(help.stdout_text)) {
      std::vector<std::string> child = path;
      child.push_back(sub);
      pending.push_back(child);
      seen.push_back(JoinArgv(child));
    }
  }
  // The tree the walk found includes at least the documented commands.
  for (const char* expected :
       {"run", "config", "config check", "config reference", "inspect", "buffer", "buffer stats"}) {
    CHECK(std::find(seen.begin(), seen.end(), expected) != seen.end());
  }

  CHECK(Run({BinaryPath("tidegate")}).exit_code == 2);
  CHECK(Run({BinaryPath("tidegate"), "no-such-command"}).exit_code == 2);
  CHECK(Run({BinaryPath("tidegate"), "run"}).exit_code == 2);  // -c is required

  for (const char* tool : {"tidegate-collector", "tidegate-sim"}) {
    CommandResult help = Run({BinaryPath(tool), "--help"});
    INFO(tool);
    CHECK(help.exit_code == 0);
  }
  CommandResult serve = Run({BinaryPath("tidegate-collector"), "serve", "--help"});
  CHECK(serve.exit_code == 0);
  CHECK_THAT(serve.stdout_text, Catch::Contains("--keep-raw"));
  CHECK_THAT(serve.stdout_text, Catch::Contains("--config-dir"));
  CHECK_THAT(serve.stdout_text, Catch::Contains("POST /v1/opamp"));
  CHECK(Run({BinaryPath("tidegate-collector"), "dump", "--help"}).exit_code == 0);
  CHECK(Run({BinaryPath("tidegate-collector"), "agents", "--help"}).exit_code == 0);
  CHECK(Run({BinaryPath("tidegate-collector"), "agents"}).exit_code == 2);  // --store required
}

}  // namespace
}  // namespace tidegate::testing
