// SPDX-License-Identifier: Apache-2.0
#include "remote/mqtt_config_channel.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/wait.h"

namespace tidegate::remote {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::WaitUntil;

// Records published statuses; fails while `connected` is false, as the transport does.
struct FakeLink {
  std::mutex mu;
  bool connected = true;
  std::vector<std::string> topics, payloads;
  std::vector<bool> retained;

  MqttConfigChannel::Publisher Publisher() {
    return [this](const std::string& topic, std::string_view payload, bool retain) {
      std::lock_guard<std::mutex> lock(mu);
      if (!connected) return Unavailable("not connected");
      topics.push_back(topic);
      payloads.emplace_back(payload);
      retained.push_back(retain);
      return Status::Ok();
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return payloads.size();
  }
  std::string last() {
    std::lock_guard<std::mutex> lock(mu);
    return payloads.empty() ? "" : payloads.back();
  }
};

// A handler that applies everything and remembers what it saw; `gate` can hold it.
struct FakeHandler {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  std::vector<std::string> seen;

  BundleHandler Handler() {
    return [this](std::string_view bundle) {
      std::unique_lock<std::mutex> lock(mu);
      seen.emplace_back(bundle);
      cv.wait(lock, [&] { return !hold; });
      ApplyOutcome outcome;
      outcome.state = bundle.find("bad") == std::string_view::npos ? ApplyOutcome::State::kApplied
                                                                   : ApplyOutcome::State::kFailed;
      outcome.reason = outcome.state == ApplyOutcome::State::kFailed ? "bad_signature" : "";
      outcome.version = static_cast<int64_t>(seen.size());
      outcome.bundle_hash = std::string(32, '\xcc');  // raw, as ConfigApplier gives it
      return outcome;
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size();
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      hold = false;
    }
    cv.notify_all();
  }
};

bool Eventually(const std::function<bool()>& pred) {
  return WaitUntil(pred, seconds(10), milliseconds(2));
}

TEST_CASE("MQTT config channel: a bundle is handed over once and its outcome published retained",
          "[remote]") {
  FakeLink link;
  FakeHandler handler;
  MqttConfigChannel channel("gw-1", handler.Handler(), link.Publisher());
  CHECK(channel.topic() == "tidegate/gw-1/config");
  CHECK(channel.status_topic() == "tidegate/gw-1/config/status");
  channel.Start();
  channel.OnMessage("bundle-1", true);
  REQUIRE(Eventually([&] { return link.count() == 1; }));
  CHECK(link.topics[0] == "tidegate/gw-1/config/status");
  CHECK(link.retained[0]);
  CHECK(link.last() ==
        "{\"agent_id\":\"gw-1\",\"version\":1,\"status\":\"applied\",\"reason\":\"\","
        "\"bundle_sha256\":\"" +
            MqttConfigChannel::Sha256Hex("bundle-1") + "\"}");
  // The broker redelivers the retained message on every reconnect: not applied again.
  channel.OnMessage("bundle-1", true);
  REQUIRE(Eventually([&] { return channel.stats().unchanged == 1; }));
  CHECK(handler.count() == 1);
  channel.OnMessage("bad bundle", true);
  REQUIRE(Eventually([&] { return link.count() == 2; }));
  CHECK(link.last().find("\"status\":\"failed\",\"reason\":\"bad_signature\"") !=
        std::string::npos);
  // An empty retained message clears the topic: nothing to apply.
  channel.OnMessage("", true);
  channel.Stop();
  CHECK(handler.count() == 2);
  CHECK(channel.stats().received == 3);
}

TEST_CASE("MQTT config channel: the newest bundle replaces one not handled yet", "[remote]") {
  FakeLink link;
  FakeHandler handler;
  handler.hold = true;
  MqttConfigChannel channel("gw-1", handler.Handler(), link.Publisher());
  channel.Start();
  channel.OnMessage("v1", true);
  REQUIRE(Eventually([&] { return handler.count() == 1; }));  // v1 is being applied
  channel.OnMessage("v2", false);
  channel.OnMessage("v3", false);
  handler.Release();
  REQUIRE(Eventually([&] { return link.count() == 2; }));
  channel.Stop();
  REQUIRE(handler.seen == std::vector<std::string>{"v1", "v3"});
}

TEST_CASE("MQTT config channel: a too large bundle is refused unread", "[remote]") {
  FakeLink link;
  FakeHandler handler;
  MqttConfigChannel channel("gw-1", handler.Handler(), link.Publisher());
  channel.Start();
  channel.OnMessage(std::string(kMaxMqttBundleBytes + 1, 'x'), true);
  REQUIRE(Eventually([&] { return link.count() == 1; }));
  CHECK(link.last().find("\"status\":\"failed\",\"reason\":\"too_large: ") != std::string::npos);
  channel.OnMessage(std::string(kMaxMqttBundleBytes, 'x'), true);  // at the bound: handed over
  REQUIRE(Eventually([&] { return link.count() == 2; }));
  channel.Stop();
  CHECK(handler.count() == 1);
  CHECK(channel.stats().too_large == 1);
}

TEST_CASE("MQTT config channel: a status that could not go out is published after reconnecting",
          "[remote]") {
  FakeLink link;
  link.connected = false;
  FakeHandler handler;
  MqttConfigChannel channel("gw-1", handler.Handler(), link.Publisher());
  channel.Start();
  channel.OnMessage("bundle-1", true);
  REQUIRE(Eventually([&] { return handler.count() == 1; }));
  REQUIRE(Eventually([&] { return channel.stats().handled == 1; }));
  CHECK(link.count() == 0);
  {
    std::lock_guard<std::mutex> lock(link.mu);
    link.connected = true;
  }
  channel.OnConnected();
  REQUIRE(Eventually([&] { return link.count() == 1; }));
  CHECK(link.last().find("\"status\":\"applied\"") != std::string::npos);
  // A rollback is reported on the same topic.
  ApplyOutcome rolled_back{.state = ApplyOutcome::State::kRolledBack,
                           .reason = "uplink_failing",
                           .version = 1,
                           .bundle_hash = ""};
  channel.Report(rolled_back);
  REQUIRE(Eventually([&] { return link.count() == 2; }));
  // The hash of the bundle it undid, in hex.
  CHECK(link.last() ==
        R"({"agent_id":"gw-1","version":1,"status":"rolled_back","reason":"uplink_failing",)"
        R"("bundle_sha256":")" +
            MqttConfigChannel::Sha256Hex("bundle-1") + "\"}");
  // Published once: another reconnect does not repeat it.
  channel.OnConnected();
  channel.Stop();
  CHECK(link.count() == 2);
  CHECK(channel.stats().statuses_published == 2);
}

}  // namespace
}  // namespace tidegate::remote
