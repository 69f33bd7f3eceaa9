// SPDX-License-Identifier: Apache-2.0
// Remote config through the MQTT channel, end to end with real parts: the agent (uplink over
// MQTT to the cloud broker with the shipped ACL, remote_config.channel mqtt), a real MQTT
// collector landing its batches, bundles made by `tidegate config sign` and published
// retained by the fleet's config publisher. A good bundle is applied and reported; a replayed
// version, a bad signature, a bundle for another agent, invalid YAML and an unknown key are
// each refused with their reason while the agent keeps its config and keeps landing events;
// after a restart the replay stays refused (the version record is on disk).
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "remote/bundle.h"
#include "tests/integration/cloud_broker.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAgent = "e2e-remote-gw";
const std::string kConfigTopic = std::string("tidegate/") + kAgent + "/config";
const std::string kStatusTopic = kConfigTopic + "/status";

// The agent, its cloud broker and collector, a config publisher and a status watcher.
struct Fleet {
  E2eStack stack;
  std::unique_ptr<CloudBroker> cloud;
  std::unique_ptr<MqttCollector> collector;
  std::unique_ptr<MqttTestClient> publisher, watcher;
  std::string keys, other_keys;

  // remote_yaml: more keys of the remote_config section (indented two spaces).
  explicit Fleet(const std::string& label = "remote-config-mqtt",
                 const std::string& remote_yaml = {})
      : stack(label, StackOptions{.agent_id = kAgent}) {
    RequireOk(stack.Prepare(), &stack);
    RequireOk(stack.StartBroker(), &stack);
    cloud = std::make_unique<CloudBroker>(&stack.certs());
    const CertAndKey gw =
        RequireValue(MakeClientCert(cloud->dir().path(), stack.certs(), kAgent, 20));
    collector = std::make_unique<MqttCollector>(*cloud, cloud->collector1(), "collector-1");
    keys = stack.dir().File("keys");
    other_keys = stack.dir().File("other-keys");
    REQUIRE(Tidegate({"keys", "init", "--dir", keys}).exit_code == 0);
    REQUIRE(Tidegate({"keys", "init", "--dir", other_keys}).exit_code == 0);
    StackOptions& o = stack.mutable_options();
    o.uplink_url = "mqtts://127.0.0.1:" + std::to_string(cloud->broker().tls_port());
    o.uplink_cert_file = gw.cert;
    o.uplink_key_file = gw.key;
    o.uplink_extra_yaml = "  transport: mqtt\n  mqtt: {max_inflight: 4, ack_timeout: 2s}\n";
    o.extra_agent_yaml =
        "remote_config:\n  enabled: true\n  channel: mqtt\n"
        "  signing_public_key: " +
        keys + "/signing.pub\n" + remote_yaml;
    publisher = cloud->Connect(cloud->config_publisher(), "config-publisher");
    watcher = cloud->Connect(cloud->config_publisher(), "status-watcher");
    REQUIRE(RequireValue(watcher->Subscribe(kStatusTopic, 1)) == 1);
    RequireOk(stack.StartAgent(), &stack);
  }

  CommandResult Tidegate(const std::vector<std::string>& args) {
    return RequireValue(stack.RunTidegate(args));
  }

  // The agent's own config with `extra` appended, signed as `version` for `agent`.
  std::string Bundle(int version, const std::string& extra, const std::string& agent = kAgent,
                     const std::string& key_dir = {}) {
    const std::string file = stack.dir().File("bundle-" + std::to_string(version) + ".yaml");
    REQUIRE(WriteFile(file, ReadFile(stack.AgentConfigPath()) + extra).ok());
    const CommandResult signed_bundle =
        Tidegate({"config", "sign", "--key", (key_dir.empty() ? keys : key_dir) + "/signing.key",
                  "--version", std::to_string(version), "--agent", agent, file});
    INFO(signed_bundle.stderr_text);
    REQUIRE(signed_bundle.exit_code == 0);
    return signed_bundle.stdout_text;
  }

  // An invalid config, which `config sign` refuses to sign, signed with the library instead
  // (as a buggy or hostile signer holding the key would).
  std::string InvalidBundle(int version, const std::string& extra) {
    auto key = remote::ParseSigningSecretKey(ReadFile(keys + "/signing.key"));
    RequireOk(key.status());
    return remote::SerializeBundle(
        remote::SignBundle(kAgent, version, ReadFile(stack.AgentConfigPath()) + extra, *key));
  }

  // Publishes a bundle retained and returns the status the agent published for it.
  std::string Push(const std::string& bundle) {
    const size_t before = watcher->Messages().size();
    const int rc = RequireValue(publisher->PublishRetained(kConfigTopic, bundle));
    REQUIRE((rc == 0 || rc == 0x10));
    INFO(stack.Diagnostics());
    REQUIRE(watcher->WaitForMessages(before + 1, seconds(30)));
    return watcher->Messages().back().payload;
  }

  // Events published now land (the agent still runs and delivers).
  void RequireDelivering(int count, int seed) {
    const size_t landed = collector->Events().size();
    RequireOk(stack.StartSim({"--count", std::to_string(count), "--rate", "500", "--seed",
                              std::to_string(seed), "--no-pii"}),
              &stack);
    REQUIRE(RequireValue(stack.WaitSim(seconds(60))) == 0);
    INFO(stack.Diagnostics());
    REQUIRE(WaitUntil([&] { return collector->Events().size() >= landed + count; }, seconds(60),
                      milliseconds(200)));
  }
};

bool Has(const std::string& status, const std::string& part) {
  return status.find(part) != std::string::npos;
}

TEST_CASE(
    "remote config over MQTT: a signed bundle is applied and reported, bad ones refused "
    "with their reason",
    "[integration][remote-config]") {
  Fleet fleet;
  fleet.RequireDelivering(200, 11);
  const std::string applied = fleet.Push(fleet.Bundle(2, "# v2\n"));
  CHECK(Has(applied, R"("version":2,"status":"applied")"));
  CHECK(fleet.stack.Metric("tidegate_config_version") == 2.0);
  CHECK(Has(ReadFile(fleet.stack.AgentConfigPath()), "# v2\n"));

  CHECK(Has(fleet.Push(fleet.Bundle(1, "# v1\n")),
            R"("status":"failed","reason":"replayed_version)"));
  CHECK(Has(fleet.Push(fleet.Bundle(3, "# v3\n", kAgent, fleet.other_keys)),
            R"("reason":"bad_signature)"));
  CHECK(Has(fleet.Push(fleet.Bundle(4, "# v4\n", "another-gw")), R"("reason":"wrong_agent)"));
  CHECK(Has(fleet.Push(fleet.InvalidBundle(5, "events: [unclosed\n")),
            R"("reason":"invalid_config)"));
  CHECK(Has(fleet.Push(fleet.InvalidBundle(6, "bogus_key: 1\n")), R"("reason":"invalid_config)"));
  CHECK(fleet.stack.Metric("tidegate_config_version") == 2.0);
  CHECK(fleet.stack.Metric("tidegate_config_rejected_total{reason=\"replayed_version\"}") == 1.0);
  fleet.RequireDelivering(200, 12);

  // Restarted, the agent keeps v2 and still refuses v1. The retained bundle is cleared first
  // (an empty retained message), so that the status watched next is v1's.
  const int cleared = RequireValue(fleet.publisher->PublishRetained(kConfigTopic, ""));
  REQUIRE((cleared == 0 || cleared == 0x10));
  fleet.stack.KillAgent();
  RequireOk(fleet.stack.StartAgent(), &fleet.stack);
  CHECK(Has(fleet.Push(fleet.Bundle(1, "# v1 again\n")),
            R"("status":"failed","reason":"replayed_version)"));
  CHECK(fleet.stack.Metric("tidegate_config_version") == 2.0);
  fleet.RequireDelivering(100, 13);
}

TEST_CASE("remote config over MQTT: a bundle that breaks the uplink is rolled back",
          "[integration][remote-config]") {
  Fleet fleet("remote-config-mqtt-rollback", "  rollback_after: 1m\n");
  const uint64_t seed = TestSeed();
  constexpr int kEvents = 4000;
  // About 80 s of events: before the apply, the minute of the bad uplink, and after.
  RequireOk(fleet.stack.StartSim({"--count", std::to_string(kEvents), "--rate", "50", "--seed",
                                  std::to_string(seed), "--no-pii"}),
            &fleet.stack);
  REQUIRE(WaitUntil([&] { return fleet.collector->Events().size() >= 100; }, seconds(60),
                    milliseconds(200)));
  // Version 2: the uplink moved to a port nothing listens on, signed with the fleet's key.
  const std::string good = ReadFile(fleet.stack.AgentConfigPath());
  const std::string url = fleet.stack.options().uplink_url;
  std::string bad = good;
  const std::string dead = "mqtts://127.0.0.1:" + std::to_string(FreeTcpPort());
  bad.replace(bad.find(url), url.size(), dead);
  const std::string file = fleet.stack.dir().File("bad.yaml");
  REQUIRE(WriteFile(file, bad).ok());
  const CommandResult signed_bundle =
      fleet.Tidegate({"config", "sign", "--key", fleet.keys + "/signing.key", "--version", "2",
                      "--agent", kAgent, file});
  REQUIRE(signed_bundle.exit_code == 0);
  const int rc =
      RequireValue(fleet.publisher->PublishRetained(kConfigTopic, signed_bundle.stdout_text));
  REQUIRE((rc == 0 || rc == 0x10));
  REQUIRE(WaitUntil([&] { return fleet.stack.Metric("tidegate_config_version") == 2.0; },
                    seconds(30), milliseconds(200)));
  CHECK(Has(ReadFile(fleet.stack.AgentLogPath()), "uplink: now publishing to 127.0.0.1:"));

  // Rolled back after rollback_after; the status goes out once the old connection is back.
  const bool rolled_back =
      WaitUntil([&] { return fleet.stack.Metric("tidegate_config_rollbacks_total") == 1.0; },
                seconds(120), milliseconds(500));
  INFO(fleet.stack.Diagnostics());
  REQUIRE(rolled_back);
  CHECK(ReadFile(fleet.stack.AgentConfigPath()) == good);
  CHECK(fleet.stack.Metric("tidegate_config_version") == 0.0);
  REQUIRE(fleet.watcher->WaitForMessages(1, seconds(30)));
  CHECK(Has(fleet.watcher->Messages().back().payload,
            R"("version":2,"status":"rolled_back","reason":"uplink_failing")"));

  REQUIRE(RequireValue(fleet.stack.WaitSim(seconds(120))) == 0);
  const auto published = RequireValue(ReadPublishLog(fleet.stack.PublishLogPath()));
  DeliveryReport report;
  WaitUntil(
      [&] {
        Result<CommandResult> dump = RunCommand({BinaryPath("tidegate-collector"), "dump",
                                                 "--store", fleet.collector->DataDir(), "events"});
        if (!dump.ok() || dump->exit_code != 0) return false;
        auto landed = ParseLandedEvents(dump->stdout_text);
        if (!landed.ok()) return false;
        report = CompareByMsgId(published, *landed);
        return report.ExactlyOnce();
      },
      seconds(60), milliseconds(500));
  INFO("seed " << seed << ": " << report.ToString());
  CHECK(report.published == kEvents);
  CHECK(report.ExactlyOnce());
}

}  // namespace
}  // namespace tidegate::testing
