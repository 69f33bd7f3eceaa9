// SPDX-License-Identifier: Apache-2.0
// SPEC (Privacy): key files must be mode 0600, and the agent refuses to start otherwise.
// End to end through the real `tidegate run`, not only the loader: a token key file readable
// by others (0644) stops the agent before it connects anywhere, with exit code 2 and a
// message naming the file; the same file at 0600 starts (so the refusal is about the mode).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

TEST_CASE("the agent refuses to start with a token key file readable by others",
          "[integration][privacy][issue-10]") {
  E2eStack stack("key-file-mode");
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  const std::string keys = stack.dir().MakeDir("keys");
  Result<CommandResult> init = stack.RunTidegate({"keys", "init", "--dir", keys});
  RequireOk(init.status());
  REQUIRE(init->exit_code == 0);
  const std::string key_file = keys + "/token.keys";
  stack.mutable_options().extra_agent_yaml =
      "privacy:\n  key_file: " + key_file +
      "\n  rules:\n    - match: devices/+/telemetry\n      tokenize: [/user/email]\n";
  REQUIRE(::chmod(key_file.c_str(), 0644) == 0);

  RequireOk(stack.LaunchAgent(), &stack);
  std::optional<int> code = stack.WaitAgentExit(seconds(15));
  INFO(stack.Diagnostics());
  REQUIRE(code.has_value());
  CHECK(*code == 2);  // SPEC: 2 for an invalid config; the key file is part of it
  const std::string log = ReadFile(stack.AgentLogPath());
  CHECK(log.find(key_file) != std::string::npos);
  CHECK(log.find("0644") != std::string::npos);
  CHECK(log.find("mqtt: connected") == std::string::npos);
  CHECK(log.find(" running") == std::string::npos);

  REQUIRE(::chmod(key_file.c_str(), 0600) == 0);
  RequireOk(stack.LaunchAgent(), &stack);
  RequireOk(stack.WaitAgentConnected(seconds(15)), &stack);
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
