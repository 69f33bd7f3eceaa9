// SPDX-License-Identifier: Apache-2.0
// The metrics page that Prometheus scrapes (issue 13), from the real agent with a real broker
// and collector: it passes a real exposition parser (python3-prometheus-client, through
// check_metrics_page.py, which also applies promtool's naming lint), it names every family
// SPEC.md's "Operating it" lists, and its counters move when events are published. The
// checker itself is shown to reject a bad page, so a pass means something.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Debian's interpreter, whose dist-packages hold python3-prometheus-client (a python3 earlier
// on PATH, e.g. pyenv's, would not see it).
constexpr const char* kPython = "/usr/bin/python3";

constexpr const char* kAggregationYaml = R"(aggregate:
  - name: temp_10s
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures:
      /temp: [count]
    watermark: {max_out_of_order: 5s, idle_timeout: 3s}
)";

// SPEC.md "Operating it": ingested, dropped by reason, duplicates, buffer bytes/rows, oldest
// buffered event age, watermark lag per aggregation, batches sent/acked/retried, bytes on
// the wire, commit and checkpoint durations; plus what /readyz judges and `tidegate status`
// prints.
const std::vector<std::string> kSpecFamilies = {
    "tidegate_ingested_total",
    "tidegate_dropped_total",
    "tidegate_duplicates_total",
    "tidegate_buffer_bytes",
    "tidegate_buffer_records",
    "tidegate_buffer_events",
    "tidegate_buffer_oldest_age_seconds",
    "tidegate_watermark_lag_seconds",
    "tidegate_batches_sent_total",
    "tidegate_batches_acked_total",
    "tidegate_batches_retried_total",
    "tidegate_uplink_bytes_total",
    "tidegate_commit_duration_seconds",
    "tidegate_checkpoint_duration_seconds",
    "tidegate_mqtt_connected",
    "tidegate_buffer_healthy",
    "tidegate_uplink_failing_seconds",
    "tidegate_info",
};

// Runs the checker on `page`; its exit code and output.
CommandResult CheckPage(const E2eStack& stack, const std::string& page, const std::string& name) {
  const std::string path = stack.dir().File(name);
  RequireOk(WriteFile(path, page));
  std::vector<std::string> argv = {kPython, SourcePath("tests/integration/check_metrics_page.py"),
                                   path};
  argv.insert(argv.end(), kSpecFamilies.begin(), kSpecFamilies.end());
  Result<CommandResult> run = RunCommand(argv, seconds(60));
  RequireOk(run.status());
  INFO(run->stdout_text << run->stderr_text);
  return *run;
}

std::string Page(E2eStack& stack) {
  Result<std::string> page = stack.Metrics();
  RequireOk(page.status(), &stack);
  return *page;
}

TEST_CASE(
    "the metrics page passes a real exposition parser, names every SPEC family and "
    "its counters move when events are published",
    "[integration][issue-13]") {
  StackOptions options;
  options.extra_agent_yaml = kAggregationYaml;
  E2eStack stack("metrics-page", options);
  RequireOk(stack.Start(), &stack);

  const std::string before = Page(stack);
  CommandResult checked = CheckPage(stack, before, "before.prom");
  INFO(checked.stdout_text << checked.stderr_text);
  REQUIRE(checked.exit_code == 0);

  RequireOk(stack.StartSim({"--count", "200", "--rate", "1000", "--devices", "4", "--dup-rate",
                            "0.1", "--seed", std::to_string(TestSeed())}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_ingested_total").value_or(0) >= 200; },
                    seconds(30), milliseconds(100)));
  REQUIRE(stack.WaitForDrained(seconds(60)));

  const std::string after = Page(stack);
  checked = CheckPage(stack, after, "after.prom");
  INFO(checked.stdout_text << checked.stderr_text << stack.Diagnostics());
  REQUIRE(checked.exit_code == 0);
  auto moved = [&](std::string_view series) {
    INFO(series);
    CHECK(MetricValue(after, series).value_or(0) > MetricValue(before, series).value_or(0));
  };
  moved("tidegate_ingested_total");
  moved("tidegate_received_total");
  moved("tidegate_duplicates_total");
  moved("tidegate_batches_sent_total");
  moved("tidegate_batches_acked_total");
  moved("tidegate_uplink_bytes_total");
  moved("tidegate_commit_duration_seconds_count");
  moved("tidegate_commit_duration_seconds_bucket{le=\"+Inf\"}");
  CHECK(MetricValue(after, "tidegate_ingested_total") == 200);
  CHECK(MetricValue(after, "tidegate_watermark_lag_seconds{aggregation=\"temp_10s\"}"));
  CHECK(MetricValue(after, "tidegate_dropped_total{reason=\"malformed_json\"}") == 0);
}

TEST_CASE("the metrics page checker rejects a page that breaks the format or the naming rules",
          "[integration][issue-13]") {
  E2eStack stack("metrics-checker");
  SECTION("a name in milliseconds") {
    CHECK(CheckPage(stack,
                    "# HELP tidegate_commit_duration_ms d\n# TYPE tidegate_commit_duration_ms "
                    "gauge\ntidegate_commit_duration_ms 3\n",
                    "ms.prom")
              .exit_code == 1);
  }
  SECTION("a counter without _total") {
    CHECK(CheckPage(stack,
                    "# HELP tidegate_ingested i\n# TYPE tidegate_ingested counter\n"
                    "tidegate_ingested 1\n",
                    "total.prom")
              .exit_code == 1);
  }
  SECTION("a line the parser cannot read") {
    CHECK(CheckPage(stack, "tidegate-ingested 1\n", "syntax.prom").exit_code == 1);
  }
}

}  // namespace
}  // namespace tidegate::testing
