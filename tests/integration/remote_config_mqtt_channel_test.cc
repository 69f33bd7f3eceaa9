// SPDX-License-Identifier: Apache-2.0
// The MQTT remote-config channel over real parts: the cloud broker with the shipped ACL and
// client certificates (tests/integration/cloud_broker.h), the agent's real MQTT uplink
// transport as gateway gw-a with the channel attached, and the fleet's config publisher as a
// libmosquitto client. The bundle handler is a stand-in that applies any bundle not
// containing "bad" (verification is remote/bundle_verifier's, tested on its own): this test
// is about delivery. It checks that a retained bundle published before the gateway connects
// reaches it, that each outcome comes back retained on config/status, that a reconnect's
// redelivery of the retained bundle is not applied twice, and that the ACL keeps another
// gateway from publishing gw-a's config.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "remote/mqtt_config_channel.h"
#include "tests/integration/cloud_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/wait.h"
#include "uplink/mqtt_transport.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kNotAuthorized = 0x87;  // MQTT v5 reason codes
constexpr int kNoMatchingSubscribers = 0x10;

// A retained publish the broker took: with nobody subscribed yet it answers 0x10, and still
// keeps the message for later subscribers.
bool Taken(int reason_code) { return reason_code == 0 || reason_code == kNoMatchingSubscribers; }

UplinkSection GatewayUplink(CloudBroker& cloud) {
  UplinkSection config;
  config.transport = tidegate::Transport::kMqtt;
  config.url = "mqtts://localhost:" + std::to_string(cloud.broker().tls_port());
  config.tls.ca_file = cloud.certs().ca_cert;
  config.tls.cert_file = cloud.gw_a().cert;
  config.tls.key_file = cloud.gw_a().key;
  config.mqtt_keepalive = milliseconds(10'000);
  return config;
}

// Stand-in for the agent's verifier: records bundles, applies those without "bad".
struct RecordingHandler {
  std::mutex mu;
  std::vector<std::string> seen;

  remote::BundleHandler Handler() {
    return [this](std::string_view bundle) {
      std::lock_guard<std::mutex> lock(mu);
      seen.emplace_back(bundle);
      remote::ApplyOutcome outcome;
      const bool bad = bundle.find("bad") != std::string_view::npos;
      outcome.state =
          bad ? remote::ApplyOutcome::State::kFailed : remote::ApplyOutcome::State::kApplied;
      outcome.reason = bad ? "bad_signature" : "";
      outcome.version = static_cast<int64_t>(seen.size());
      return outcome;
    };
  }
  std::vector<std::string> Seen() {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  }
};

// The gateway side: transport + channel, as the agent wires them.
struct Gateway {
  std::unique_ptr<uplink::MqttTransport> transport;
  std::unique_ptr<remote::MqttConfigChannel> channel;

  Gateway(CloudBroker& cloud, RecordingHandler& handler) {
    auto created = uplink::MqttTransport::Create(GatewayUplink(cloud), "gw-a", 7);
    RequireOkStatus(created.status());
    transport = std::move(*created);
    uplink::MqttTransport* t = transport.get();
    channel = std::make_unique<remote::MqttConfigChannel>(
        "gw-a", handler.Handler(),
        [t](const std::string& topic, std::string_view payload, bool retain) {
          return t->PublishSide(topic, payload, retain);
        });
    transport->AttachSideChannel(channel.get());
    channel->Start();
    transport->Start();
  }
  ~Gateway() {
    transport->Stop();
    channel->Stop();
  }
};

std::string LastPayload(const MqttTestClient& client) {
  auto messages = client.Messages();
  return messages.empty() ? "" : messages.back().payload;
}

TEST_CASE(
    "remote config over MQTT: a retained bundle reaches the gateway and the outcome "
    "comes back retained",
    "[integration][remote-config]") {
  CloudBroker cloud;
  auto publisher = cloud.Connect(cloud.config_publisher(), "config-publisher");
  // Published before the gateway ever connected: the broker keeps it for it.
  REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-a/config", "bundle-1"))));
  RecordingHandler handler;
  auto watcher = cloud.Connect(cloud.config_publisher(), "status-watcher");
  REQUIRE(RequireValue(watcher->Subscribe("tidegate/gw-a/config/status", 1)) == 1);
  {
    Gateway gateway(cloud, handler);
    REQUIRE(watcher->WaitForMessages(1, seconds(20)));
    CHECK(LastPayload(*watcher).find(R"("status":"applied")") != std::string::npos);
    CHECK(LastPayload(*watcher).find(remote::MqttConfigChannel::Sha256Hex("bundle-1")) !=
          std::string::npos);
    // A new bundle while connected, then a bad one: each handled, each outcome reported.
    REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-a/config", "bundle-2"))));
    REQUIRE(watcher->WaitForMessages(2, seconds(20)));
    REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-a/config", "bad bundle"))));
    REQUIRE(watcher->WaitForMessages(3, seconds(20)));
    CHECK(LastPayload(*watcher).find(R"("status":"failed","reason":"bad_signature")") !=
          std::string::npos);
  }
  CHECK(handler.Seen() == std::vector<std::string>{"bundle-1", "bundle-2", "bad bundle"});
  // A late subscriber (an operator's dashboard) gets the latest status from the retained store.
  auto late = cloud.Connect(cloud.config_publisher(), "late-watcher");
  REQUIRE(RequireValue(late->Subscribe("tidegate/gw-a/config/status", 1)) == 1);
  REQUIRE(late->WaitForMessages(1, seconds(10)));
  CHECK(late->Messages()[0].retained);
  CHECK(late->Messages()[0].payload.find(R"("status":"failed")") != std::string::npos);
}

TEST_CASE("remote config over MQTT: another gateway may not publish or read a gateway's config",
          "[integration][remote-config]") {
  CloudBroker cloud;
  auto gw_b = cloud.Connect(cloud.gw_b(), "gw-b");
  CHECK(RequireValue(gw_b->PublishRetained("tidegate/gw-a/config", "bundle-evil")) ==
        kNotAuthorized);
  // Nor read it: the broker filters what it delivers, so the one for gw-b, published after
  // the one for gw-a, arrives alone.
  REQUIRE(RequireValue(gw_b->Subscribe("tidegate/+/config", 1)) == 1);
  auto publisher = cloud.Connect(cloud.config_publisher(), "config-publisher");
  REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-a/config", "for-a"))));
  REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-b/config", "for-b"))));
  REQUIRE(gw_b->WaitForMessages(1, seconds(10)));
  for (const MqttMessage& m : gw_b->Messages()) CHECK(m.payload == "for-b");
}

TEST_CASE("remote config over MQTT: a restarted agent gets the retained bundle once more",
          "[integration][remote-config]") {
  CloudBroker cloud;
  auto publisher = cloud.Connect(cloud.config_publisher(), "config-publisher");
  REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-a/config", "bundle-1"))));
  RecordingHandler handler;
  auto seen = [&](size_t n) {
    return WaitUntil([&] { return handler.Seen().size() == n; }, seconds(20), milliseconds(20));
  };
  {
    Gateway gateway(cloud, handler);
    REQUIRE(seen(1));
  }
  // A new transport and channel, as after an agent restart: the channel remembers bundles
  // only for its lifetime (across restarts the verifier refuses a version it has accepted).
  Gateway restarted(cloud, handler);
  REQUIRE(seen(2));
  CHECK(handler.Seen() == std::vector<std::string>{"bundle-1", "bundle-1"});
}

TEST_CASE("remote config over MQTT: the retained bundle redelivered on reconnect is applied once",
          "[integration][remote-config]") {
  CloudBroker cloud;
  auto publisher = cloud.Connect(cloud.config_publisher(), "config-publisher");
  REQUIRE(Taken(RequireValue(publisher->PublishRetained("tidegate/gw-a/config", "bundle-1"))));
  RecordingHandler handler;
  Gateway gateway(cloud, handler);
  REQUIRE(WaitUntil([&] { return gateway.channel->stats().statuses_published == 1; }, seconds(20),
                    milliseconds(20)));
  // Drop the gateway's connection at the broker; the transport reconnects and resubscribes,
  // and the broker sends the retained bundle again.
  RequireOkStatus(cloud.broker().Restart());
  REQUIRE(WaitUntil([&] { return gateway.channel->stats().received >= 2; }, seconds(60),
                    milliseconds(50)));
  CHECK(gateway.channel->stats().unchanged >= 1);
  CHECK(handler.Seen() == std::vector<std::string>{"bundle-1"});
}

}  // namespace
}  // namespace tidegate::testing
