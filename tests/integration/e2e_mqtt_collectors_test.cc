// SPDX-License-Identifier: Apache-2.0
// End to end over the MQTT uplink (issue 14): tidegate-sim -> source broker -> the real agent
// (uplink.transport mqtt, client certificate CN = agent id) -> the cloud broker with the
// shipped ACL -> two real `tidegate-collector serve --mqtt` in one shared-subscription
// group, both landing into one PostgreSQL database (tests/support/postgres_server.h), one of
// them SIGKILLed while batches flow and restarted with the same client id. Every published
// event must land exactly once (by msg_id): a batch the killed collector landed but never
// acknowledged is republished by the agent after uplink.mqtt.ack_timeout and recognised as a
// duplicate by the shared store. The number of republished batches is printed (WARN) from
// the agent's metrics. Simulator seed: TestSeed() (printed).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/cloud_broker.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 20,000 events at 1,000/s: about 20 s of publishing, batches of up to 500 events.
constexpr int kEvents = 20000;
constexpr int kRate = 1000;

std::vector<LandedEvent> Landed(const MqttCollector& collector) {
  CommandResult dump = RequireValue(RunCommand(
      {BinaryPath("tidegate-collector"), "dump", "--store", collector.DataDir(), "events"}));
  INFO(dump.stderr_text);
  REQUIRE(dump.exit_code == 0);
  return RequireValue(ParseLandedEvents(dump.stdout_text));
}

// How many batches `collector` logged as landed (not duplicates) since its log began.
size_t LandedBatches(const MqttCollector& collector) {
  size_t n = 0;
  for (const std::string& line : ReadLines(collector.LogPath())) {
    if (line.find("landed batch_id=") != std::string::npos) ++n;
  }
  return n;
}

TEST_CASE(
    "20,000 events land exactly once through two MQTT collectors of one group on one "
    "PostgreSQL database, one SIGKILLed and restarted mid-run",
    "[integration][issue-14][crash][postgres]") {
  const std::string url = RequireValue(FreshPostgresDatabase());
  StackOptions options;
  options.agent_id = "e2e-mqtt-gw";
  E2eStack stack("mqtt-collectors", options);
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  CloudBroker cloud(&stack.certs());
  const CertAndKey gw =
      RequireValue(MakeClientCert(cloud.dir().path(), stack.certs(), options.agent_id, 20));
  MqttCollector one(cloud, cloud.collector1(), "collector-1", url);
  MqttCollector two(cloud, cloud.collector2(), "collector-2", url);

  StackOptions& o = stack.mutable_options();
  o.uplink_url = "mqtts://127.0.0.1:" + std::to_string(cloud.broker().tls_port());
  o.uplink_cert_file = gw.cert;
  o.uplink_key_file = gw.key;
  o.uplink_extra_yaml = "  transport: mqtt\n  mqtt: {max_inflight: 4, ack_timeout: 2s}\n";
  RequireOk(stack.StartAgent(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", std::to_string(kEvents), "--rate", std::to_string(kRate),
                            "--devices", "20", "--seed", std::to_string(seed)}),
            &stack);

  INFO(stack.Diagnostics() + cloud.broker().LogTail() + ReadFile(one.LogPath()) +
       ReadFile(two.LogPath()));
  // Kill collector-1 once it has landed batches itself and while events are still flowing.
  REQUIRE(WaitUntil([&] { return LandedBatches(one) >= 2 && Landed(two).size() > 2000; },
                    seconds(60), milliseconds(200)));
  one.Kill();
  const size_t at_kill = Landed(two).size();
  INFO("landed when collector-1 was killed: " << at_kill);
  REQUIRE(at_kill < static_cast<size_t>(kEvents) - 2000);
  // collector-2 alone keeps landing; then collector-1 comes back with the same client id.
  REQUIRE(WaitUntil([&] { return Landed(two).size() > at_kill + 2000; }, seconds(60),
                    milliseconds(200)));
  one.Restart();

  Result<int> sim = stack.WaitSim(seconds(60));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);
  REQUIRE(stack.WaitForDrained(seconds(90)));

  // One database: either collector's dump shows every landed event.
  const std::vector<LandedEvent> landed = Landed(two);
  const std::vector<PublishedEvent> published =
      RequireValue(ReadPublishLog(stack.PublishLogPath()));
  const DeliveryReport report = CompareByMsgId(published, landed);
  const double ack_timeouts = stack.Metric("tidegate_uplink_ack_timeouts_total").value_or(-1);
  const double retried = stack.Metric("tidegate_batches_retried_total").value_or(-1);
  // Figures for the report: how the kill showed up at the agent.
  WARN("seed " << seed << "; landed at kill " << at_kill << "; " << report.ToString()
               << "; collector-1 landed batches " << LandedBatches(one) << ", collector-2 "
               << LandedBatches(two) << "; agent ack timeouts " << ack_timeouts
               << ", batches retried " << retried);
  CHECK(report.published == static_cast<size_t>(kEvents));
  CHECK(report.ExactlyOnce());
  CHECK(ack_timeouts >= 0);
  CHECK(retried >= 0);
}

}  // namespace
}  // namespace tidegate::testing
