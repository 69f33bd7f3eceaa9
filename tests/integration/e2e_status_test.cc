// SPDX-License-Identifier: Apache-2.0
// `tidegate status -c FILE` (issue 13) against the real agent: with the agent running it
// prints the state /readyz and /metrics show and exits 0; with the agent stopped, or with
// metrics off in the config, it says so and exits 1. It never prints a payload value.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAggregationYaml = R"(aggregate:
  - name: temp_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures:
      /temp: [count]
    watermark: {max_out_of_order: 5s, idle_timeout: 3s}
)";

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

CommandResult Status(E2eStack& stack, const std::string& config) {
  Result<CommandResult> run = stack.RunTidegate({"status", "-c", config});
  RequireOk(run.status(), &stack);
  return *run;
}

TEST_CASE("tidegate status prints the running agent's state and says when no agent runs",
          "[integration][issue-13]") {
  StackOptions options;
  options.extra_agent_yaml = kAggregationYaml;
  E2eStack stack("status", options);
  RequireOk(stack.Start(), &stack);
  RequireOk(stack.StartSim({"--count", "50", "--rate", "500", "--devices", "2", "--seed",
                            std::to_string(TestSeed())}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_ingested_total").value_or(0) >= 50; },
                    seconds(30), milliseconds(100)));
  REQUIRE(stack.WaitForDrained(seconds(60)));

  CommandResult running = Status(stack, stack.AgentConfigPath());
  INFO(running.stdout_text << running.stderr_text);
  CHECK(running.exit_code == 0);
  const std::string& out = running.stdout_text;
  CHECK(Contains(out, "e2e-gateway"));
  CHECK(Contains(out, "ready:         yes"));
  CHECK(Contains(out, "buffer:        open, committing"));
  CHECK(Contains(out, "backlog:       0 records"));
  CHECK(Contains(out, "broker:        connected"));
  CHECK(Contains(out, "50 ingested"));
  CHECK(Contains(out, "uplink:        delivering"));
  CHECK(Contains(out, "watermark lag: temp_10s"));
  // Counts and names only: the published payloads carry "temp" readings and msg ids.
  CHECK_FALSE(Contains(out, "msg_id"));

  const std::string no_metrics = stack.dir().File("no-metrics.yaml");
  std::string yaml = ReadFile(stack.AgentConfigPath());
  const size_t line = yaml.find("  metrics_listen:");
  REQUIRE(line != std::string::npos);
  yaml.replace(line, yaml.find('\n', line) - line, "  metrics_listen: \"\"");
  RequireOk(WriteFile(no_metrics, yaml));
  CommandResult off = Status(stack, no_metrics);
  CHECK(off.exit_code == 1);
  CHECK(Contains(off.stderr_text, "metrics are off"));

  RequireOk(stack.StopAgent(), &stack);
  CommandResult stopped = Status(stack, stack.AgentConfigPath());
  INFO(stopped.stdout_text << stopped.stderr_text);
  CHECK(stopped.exit_code == 1);
  CHECK(Contains(stopped.stderr_text, "no agent answers on 127.0.0.1:"));
  CHECK(stopped.stdout_text.empty());
}

}  // namespace
}  // namespace tidegate::testing
