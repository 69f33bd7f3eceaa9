// SPDX-License-Identifier: Apache-2.0
// Rollback end to end with real parts: the agent (HTTPS uplink to the real collector over
// TLS, remote_config.channel opamp polling the same collector's `serve --config-dir`), a
// real mosquitto and the simulator publishing the whole time. A signed bundle whose uplink
// URL nothing listens on is applied live and reported APPLIED; the uplink then fails for
// rollback_after, so the agent rolls back to the last good config, reports it on the
// channel (FAILED "rolled back: uplink_failing" in `tidegate-collector agents`) and in
// /metrics, and every event published before, during and after lands exactly once: the
// batches left in flight for the bad endpoint are resent, same ids, to the good one.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/cloud_broker.h"  // RequireValue
#include "tests/integration/e2e_fixture.h"
#include "tests/integration/opamp_stack.h"
#include "tests/support/files.h"
#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAgent = "e2e-rollback-gw";

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Replaces every occurrence of `from` in text by `to`.
std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST_CASE("a bundle that breaks the uplink is rolled back and nothing is lost",
          "[integration][remote-config]") {
  const uint64_t seed = TestSeed();
  OpampStack fleet("remote-config-rollback", kAgent, "1s", "  rollback_after: 1m\n");
  fleet.Start();
  E2eStack& stack = fleet.stack();
  const std::string good_config = ReadFile(stack.AgentConfigPath());

  // About 90 s of events: before the apply, the whole minute of the bad uplink, and after.
  constexpr int kEvents = 4500;
  RequireOk(stack.StartSim({"--count", std::to_string(kEvents), "--rate", "50", "--seed",
                            std::to_string(seed), "--no-pii"}),
            &stack);
  REQUIRE(stack.WaitForLanded(100, seconds(60)));

  // Version 2: the same config with an uplink URL nothing listens on.
  const std::string dead_url = "https://127.0.0.1:" + std::to_string(FreeTcpPort()) + "/v1/batches";
  const std::string bad_config =
      Replaced(good_config, fleet.collector_url() + "/v1/batches", dead_url);
  REQUIRE(Has(bad_config, dead_url));
  fleet.Place(fleet.Sign(2, bad_config));

  std::string line;
  const bool applied = WaitUntil(
      [&] {
        line = fleet.AgentsLine();
        return Has(line, R"("config_status":"applied")");
      },
      seconds(30), milliseconds(200));
  INFO("agents: " << line);
  REQUIRE(applied);
  CHECK(stack.Metric("tidegate_config_version") == 2.0);
  CHECK(Has(ReadFile(stack.AgentConfigPath()), dead_url));
  CHECK(Has(ReadFile(stack.AgentLogPath()), "uplink: now delivering to 127.0.0.1:"));

  // rollback_after (1 m) of failures, checked at least every 5 s.
  const bool rolled_back =
      WaitUntil([&] { return stack.Metric("tidegate_config_rollbacks_total") == 1.0; },
                seconds(120), milliseconds(500));
  INFO(stack.Diagnostics());
  REQUIRE(rolled_back);
  CHECK(stack.Metric("tidegate_config_version") == 0.0);
  CHECK(ReadFile(stack.AgentConfigPath()) == good_config);
  CHECK(WaitUntil(
      [&] {
        line = fleet.AgentsLine();
        return Has(line, R"("config_status":"failed")");
      },
      seconds(30), milliseconds(200)));
  CHECK(Has(line, R"("config_error":"rolled back: uplink_failing")"));

  REQUIRE(RequireValue(stack.WaitSim(seconds(120))) == 0);
  stack.WaitForLanded(kEvents, seconds(60));
  REQUIRE(stack.WaitForDrained(seconds(60)));
  const auto published = RequireValue(ReadPublishLog(stack.PublishLogPath()));
  const auto landed = RequireValue(stack.DumpEvents());
  const DeliveryReport report = CompareByMsgId(published, landed);
  INFO("seed " << seed << ": " << report.ToString());
  CHECK(report.published == kEvents);
  CHECK(report.ExactlyOnce());
  // The agent kept running on the good config and the bundle was not handed over again.
  CHECK(stack.AgentRunning());
  CHECK(stack.Metric("tidegate_config_applied_total") == 2.0);
}

}  // namespace
}  // namespace tidegate::testing
