// SPDX-License-Identifier: Apache-2.0
// tidegate_watermark_lag_seconds against a known traffic pattern, end to end. The gauge is
// (filters/aggregator.cc, IdleScan, about every second) now minus the oldest watermark of a
// device that is not idle, a watermark being the device's max event time minus
// max_out_of_order. One device publishing every event stamped exactly `late-by` in the past
// therefore reads late-by + max_out_of_order, plus the time from its newest event to the
// scan (an event every 50 ms here, so well under the tolerance); once the device falls
// silent for idle_timeout it no longer holds the watermark back and the gauge reads 0.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kLagSeries = "tidegate_watermark_lag_seconds{aggregation=\"lag_probe\"}";
constexpr double kLateBySeconds = 20;
constexpr double kOutOfOrderSeconds = 5;
// Above the expected value only: the gauge can only be later than the newest event, never
// earlier. Covers the event spacing, the commit interval and a slow (sanitizer) machine.
constexpr double kToleranceSeconds = 1.5;

constexpr const char* kLagProbeYaml = R"(aggregate:
  - name: lag_probe
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 10s}
    measures:
      /temp: [count]
    watermark: {max_out_of_order: 5s, idle_timeout: 3s}
    allowed_lateness: 2m
    late_events: update
)";

TEST_CASE("tidegate_watermark_lag_seconds is the event-time delay plus max_out_of_order",
          "[integration][aggregate][issue-10]") {
  E2eStack stack("watermark-lag");
  stack.mutable_options().extra_agent_yaml = kLagProbeYaml;
  RequireOk(stack.Start(), &stack);
  CHECK(stack.Metric(kLagSeries) == 0.0);  // no device yet

  // Every event is "late" by exactly 20 s: event time = publish time - 20 s.
  const uint64_t seed = TestSeed();
  RequireOk(stack.StartSim({"--devices", "1", "--rate", "20", "--duration", "8s", "--late-fraction",
                            "1", "--late-by", "20s", "--seed", std::to_string(seed)}),
            &stack);

  const double expected = kLateBySeconds + kOutOfOrderSeconds;
  std::vector<double> samples;
  // Five readings of the gauge while the device publishes (first once it has a value).
  bool sampled = WaitUntil(
      [&] {
        std::optional<double> lag = stack.Metric(kLagSeries);
        if (lag && *lag > 0) samples.push_back(*lag);
        return samples.size() >= 5 || !stack.SimRunning();
      },
      seconds(15), milliseconds(700));
  INFO(stack.Diagnostics());
  REQUIRE(sampled);
  REQUIRE(samples.size() >= 5);
  for (double lag : samples) {
    std::fprintf(stderr, "watermark-lag: gauge %.3f s, expected %.3f s (+%.1f s)\n", lag, expected,
                 kToleranceSeconds);
    CHECK(lag >= expected);
    CHECK(lag <= expected + kToleranceSeconds);
  }

  // Silent for idle_timeout (3 s), the device stops holding the watermark back.
  Result<int> sim_exit = stack.WaitSim(seconds(30));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  CHECK(WaitUntil([&] { return stack.Metric(kLagSeries) == 0.0; }, seconds(10), milliseconds(100)));
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
