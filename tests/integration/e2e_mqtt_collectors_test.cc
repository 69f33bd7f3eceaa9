// SPDX-License-Identifier: Apache-2.0
// End to end over the MQTT uplink (issue 14): tidegate-sim -> source broker -> the real agent
// (uplink.transport mqtt, client certificate CN = agent id) -> the cloud broker with the
// shipped ACL -> two real `tidegate-collector serve --mqtt` in one shared-subscription
// group, one of them SIGKILLed mid-run and restarted with the same client id. Every
// published event must land; each collector has its own SQLite store, so a batch the
// killed collector landed but never acknowledged may land again at the other one after the
// agent republishes it: the union may hold such copies (bounded by the republished batches'
// events), never a duplicate within one store. A shared store (PostgreSQL) makes it exactly
// once.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/cloud_broker.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

constexpr int kEvents = 3000;

std::vector<LandedEvent> Landed(const MqttCollector& collector) {
  CommandResult dump = RequireValue(RunCommand(
      {BinaryPath("tidegate-collector"), "dump", "--data-dir", collector.DataDir(), "events"}));
  INFO(dump.stderr_text);
  REQUIRE(dump.exit_code == 0);
  return RequireValue(ParseLandedEvents(dump.stdout_text));
}

// True if no (agent_id, seq) appears twice.
bool NoDuplicateWithin(const std::vector<LandedEvent>& events) {
  std::map<std::pair<std::string, uint64_t>, int> seen;
  for (const LandedEvent& e : events) {
    if (++seen[{e.agent_id, e.seq}] > 1) return false;
  }
  return true;
}

TEST_CASE(
    "agent -> cloud broker -> two collectors in one group: every event lands, with one "
    "collector SIGKILLed and restarted mid-run",
    "[integration][issue-14][crash]") {
  StackOptions options;
  options.agent_id = "e2e-mqtt-gw";
  E2eStack stack("mqtt-collectors", options);
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  CloudBroker cloud(&stack.certs());
  const CertAndKey gw =
      RequireValue(MakeClientCert(cloud.dir().path(), stack.certs(), options.agent_id, 20));
  MqttCollector one(cloud, cloud.collector1(), "collector-1");
  MqttCollector two(cloud, cloud.collector2(), "collector-2");

  StackOptions& o = stack.mutable_options();
  o.uplink_url = "mqtts://127.0.0.1:" + std::to_string(cloud.broker().tls_port());
  o.uplink_cert_file = gw.cert;
  o.uplink_key_file = gw.key;
  o.uplink_extra_yaml = "  transport: mqtt\n  mqtt: {max_inflight: 4, ack_timeout: 2s}\n";
  RequireOk(stack.StartAgent(), &stack);
  RequireOk(stack.StartSim({"--count", std::to_string(kEvents), "--rate", "600", "--devices", "20",
                            "--seed", std::to_string(TestSeed())}),
            &stack);

  INFO(stack.Diagnostics() + cloud.broker().LogTail() + ReadFile(one.LogPath()));
  REQUIRE(WaitUntil([&] { return Landed(one).size() > 200; }, seconds(60),
                    std::chrono::milliseconds(200)));
  one.Kill();
  const size_t two_at_kill = Landed(two).size();
  REQUIRE(WaitUntil([&] { return Landed(two).size() > two_at_kill + 300; }, seconds(60),
                    std::chrono::milliseconds(200)));
  one.Restart();

  Result<int> sim = stack.WaitSim(seconds(60));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);
  REQUIRE(stack.WaitForDrained(seconds(90)));

  const std::vector<LandedEvent> a = Landed(one);
  const std::vector<LandedEvent> b = Landed(two);
  CHECK(NoDuplicateWithin(a));
  CHECK(NoDuplicateWithin(b));
  std::vector<LandedEvent> all = a;
  all.insert(all.end(), b.begin(), b.end());
  const std::vector<PublishedEvent> published =
      RequireValue(ReadPublishLog(stack.PublishLogPath()));
  const DeliveryReport report = CompareByMsgId(published, all);
  const double republished = stack.Metric("tidegate_uplink_ack_timeouts_total").value_or(-1);
  const double retried = stack.Metric("tidegate_batches_retried_total").value_or(-1);
  // Figures for the report: how the kill showed up at the agent.
  WARN("collector-1 landed " << a.size() << ", collector-2 " << b.size() << "; "
                             << report.ToString() << "; agent ack timeouts " << republished
                             << ", batches retried " << retried);
  CHECK(report.missing == 0);
  CHECK(report.unknown == 0);
  CHECK(report.published == static_cast<size_t>(kEvents));
  // Copies across the two stores come only from batches the agent republished.
  CHECK(static_cast<double>(report.duplicated) <= std::max(republished, 0.0) * 500);
}

}  // namespace
}  // namespace tidegate::testing
