// SPDX-License-Identifier: Apache-2.0
// End to end, real parts only: one agent per state directory and per metrics port, and what
// the agent and the collector write is private (directories 0700, files 0600) even when they
// are started under the usual umask 022.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/integration/e2e_fixture.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The agent's config with another state_dir: the same metrics port, a separate buffer.
std::string ConfigWithStateDir(const E2eStack& stack, const std::string& state_dir) {
  std::string yaml = ReadAll(stack.AgentConfigPath());
  const std::string from = "state_dir: " + stack.StateDir();
  const size_t at = yaml.find(from);
  REQUIRE(at != std::string::npos);
  yaml.replace(at, from.size(), "state_dir: " + state_dir);
  std::string path = stack.dir().File("agent-other-state.yaml");
  std::ofstream(path) << yaml;
  return path;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

TEST_CASE("a second agent on the same state_dir exits 1 naming the holder's pid",
          "[integration][issue-11]") {
  E2eStack stack("second-agent-state-dir");
  RequireOk(stack.Start(), &stack);
  auto second = stack.RunTidegate({"run", "-c", stack.AgentConfigPath()});
  RequireOk(second.status(), &stack);
  INFO(second->stderr_text);
  CHECK(second->exit_code == 1);
  CHECK_THAT(second->stderr_text, Catch::Contains(stack.StateDir()) &&
                                      Catch::Contains("pid " + std::to_string(stack.AgentPid())));
  CHECK(stack.AgentRunning());  // the first agent is untouched and still serves
  auto health = HttpGet(stack.metrics_port(), "/healthz");
  RequireOk(health.status(), &stack);
  CHECK(health->status == 200);
}

TEST_CASE("a second agent on the same metrics port exits 1 instead of sharing it",
          "[integration][issue-11]") {
  E2eStack stack("second-agent-metrics-port");
  RequireOk(stack.Start(), &stack);
  const std::string other = ConfigWithStateDir(stack, stack.dir().File("other-state"));
  auto second = stack.RunTidegate({"run", "-c", other});
  RequireOk(second.status(), &stack);
  INFO(second->stderr_text);
  CHECK(second->exit_code == 1);
  CHECK_THAT(second->stderr_text,
             Catch::Contains("cannot listen for metrics") && Catch::Contains("in use"));
  // Every scrape still reaches the first agent: its /healthz is up and the port is its own.
  for (int i = 0; i < 5; ++i) {
    auto health = HttpGet(stack.metrics_port(), "/healthz");
    RequireOk(health.status(), &stack);
    CHECK(health->status == 200);
  }
}

TEST_CASE("state the agent and the collector create is private under umask 022",
          "[integration][issue-11]") {
  const mode_t old_mask = umask(022);  // inherited by every process the stack starts
  E2eStack stack("private-state");
  Status started = stack.Start();
  umask(old_mask);
  RequireOk(started, &stack);
  RequireOk(stack.StartSim({"--count", "200", "--rate", "2000", "--seed", "11"}), &stack);
  REQUIRE(stack.WaitForLanded(200, seconds(60)));

  CHECK(ModeOf(stack.StateDir()) == 0700);
  for (const char* name : {"buffer.db", "buffer.db-wal", "buffer.db-shm", "tidegate.lock"}) {
    INFO(name);
    CHECK(ModeOf(stack.StateDir() + "/" + name) == 0600);
  }
  CHECK(ModeOf(stack.CollectorDataDir()) == 0700);
  for (const auto& entry : std::filesystem::directory_iterator(stack.CollectorDataDir())) {
    INFO(entry.path());
    CHECK(ModeOf(entry.path().string()) == 0600);
  }
}

}  // namespace
}  // namespace tidegate::testing
