// SPDX-License-Identifier: Apache-2.0
// Remote config over OpAMP with the real agent and the real collector (`serve --config-dir`
// over TLS, tests/integration/opamp_stack.h): a good bundle is applied within one poll
// interval and reported APPLIED in `tidegate-collector agents`, with a new effective config;
// and kill -9 at random moments during 20 applies always leaves the agent's config file
// exactly one whole config (the old one or a bundle's, never a mix, never missing), on
// which it restarts. Seeds are printed (TestSeed).
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "tests/integration/e2e_fixture.h"
#include "tests/integration/opamp_stack.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kDropRule =
    "privacy:\n  rules:\n    - match: devices/+/telemetry\n      drop: [/user/email]\n";

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What the agent writes for an applied bundle: its marker line, then the bundle's config.
std::string WrittenConfig(int version, const std::string& config) {
  return "# tidegate: remote config bundle v" + std::to_string(version) + "\n" + config;
}

// The value of "field":"..." in an `agents` line ("" if absent).
std::string FieldOf(const std::string& line, const std::string& field) {
  const std::string key = "\"" + field + "\":\"";
  const size_t at = line.find(key);
  if (at == std::string::npos) return {};
  const size_t from = at + key.size();
  return line.substr(from, line.find('"', from) - from);
}

}  // namespace

TEST_CASE("OpAMP: a good bundle is applied within one poll interval and reported",
          "[integration][remote-config]") {
  constexpr auto kPoll = seconds(2);
  OpampStack fleet("remote-config-opamp", "e2e-opamp-gw", "2s");
  fleet.Start();
  E2eStack& stack = fleet.stack();
  std::string line;
  REQUIRE(WaitUntil(
      [&] {
        line = fleet.AgentsLine();
        return !FieldOf(line, "effective_config_hash").empty();
      },
      seconds(30), milliseconds(100)));
  const std::string effective_before = FieldOf(line, "effective_config_hash");
  const std::string config = ReadFile(stack.AgentConfigPath()) + kDropRule;
  const std::string bundle = fleet.Sign(2, config);

  const auto placed = std::chrono::steady_clock::now();
  fleet.Place(bundle);
  const bool applied = WaitUntil(
      [&] {
        line = fleet.AgentsLine();
        return Has(line, R"("config_status":"applied")");
      },
      seconds(30), milliseconds(50));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - placed);
  std::cerr << "opamp: bundle placed to APPLIED in `agents`: " << took.count() << " ms (poll "
            << kPoll.count() << " s)\n";
  INFO("agents: " << line << "\n" << stack.Diagnostics());
  REQUIRE(applied);
  // Within one poll interval, plus the report's own exchange and the `agents` polling.
  CHECK(took < kPoll + seconds(2));
  CHECK(ReadFile(stack.AgentConfigPath()) == WrittenConfig(2, config));
  CHECK(stack.Metric("tidegate_config_version") == 2.0);
  // The effective config reported changed with it (the agent reports it redacted).
  REQUIRE(WaitUntil(
      [&] {
        line = fleet.AgentsLine();
        return FieldOf(line, "effective_config_hash") != effective_before;
      },
      seconds(10), milliseconds(100)));
}

TEST_CASE("OpAMP: kill -9 during 20 applies leaves one whole config the agent starts on",
          "[integration][remote-config]") {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  OpampStack fleet("remote-config-kill", "e2e-kill-gw", "1s");
  fleet.Start();
  E2eStack& stack = fleet.stack();
  const std::string base = ReadFile(stack.AgentConfigPath());
  std::map<std::string, int> whole = {{base, 0}};  // each whole config -> its version
  int on_new = 0;
  for (int i = 1; i <= 20; ++i) {
    const int version = i + 1;
    const std::string config =
        base + (i % 2 == 1 ? kDropRule : "") + "# apply " + std::to_string(i) + "\n";
    whole[WrittenConfig(version, config)] = version;
    fleet.Place(fleet.Sign(version, config));
    const auto delay = milliseconds(rng() % 2'500);
    std::this_thread::sleep_for(delay);  // the random moment of the kill, not a wait
    stack.KillAgent();
    const std::string text = ReadFile(stack.AgentConfigPath());
    INFO("seed " << seed << " apply " << i << " killed after " << delay.count() << " ms\n"
                 << text.substr(0, 200));
    REQUIRE(whole.count(text) == 1);
    on_new += text == WrittenConfig(version, config);
    RequireOk(stack.StartAgent(), &stack);
    const auto running = stack.Metric("tidegate_config_version");
    REQUIRE(running.has_value());
    CHECK(*running >= static_cast<double>(whole[text]));  // started on it (or applied more)
  }
  std::cerr << "seed " << seed << ": killed 20 times, " << on_new
            << " on the new config, the others on an older one\n";
  // Finally the last bundle applies (if it had not yet) and is reported.
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_config_version") == 21.0; }, seconds(30),
                    milliseconds(200)));
  CHECK(whole.count(ReadFile(stack.AgentConfigPath())) == 1);
  CHECK(stack.AgentRunning());
}

}  // namespace tidegate::testing
