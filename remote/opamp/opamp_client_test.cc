// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/opamp_client.h"

#include <catch2/catch.hpp>

#include "remote/opamp/fake_poster.h"
#include "remote/opamp/opamp.pb.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace tidegate::remote::opamp {
namespace {

namespace pb = ::opamp::proto;

std::string Offer(std::string_view body, std::string_view hash) {
  pb::ServerToAgent msg;
  auto& file = (*msg.mutable_remote_config()->mutable_config()->mutable_config_map())["b"];
  file.set_body(std::string(body));
  file.set_content_type(kBundleContentType);
  msg.mutable_remote_config()->set_config_hash(std::string(hash));
  return msg.SerializeAsString();
}

struct Agent {
  std::shared_ptr<testing::FakePosterState> wire = std::make_shared<testing::FakePosterState>();
  int handled = 0;
  std::unique_ptr<OpampClient> client;

  Agent(const std::string& state_dir, tidegate::testing::FakeClock& clock) {
    auto created = OpampClient::Create(
        {.url = "https://collector.example:8443/v1/opamp",
         .state_dir = state_dir,
         .agent_id = "gw-1"},
        [this](std::string_view) {
          ++handled;
          return ApplyOutcome{.state = ApplyOutcome::State::kApplied,
                              .reason = {},
                              .version = 2,
                              .bundle_hash = {}};
        },
        [] { return std::string("agent:\n  id: gw-1\n"); },
        [] { return HealthReport{.healthy = true, .status = "ready", .last_error = {}}; }, clock,
        std::make_unique<testing::FakePoster>(wire));
    REQUIRE(created.ok());
    client = std::move(created).value();
  }
};

TEST_CASE("the client persists its outcome and does not reapply after a restart", "[opamp]") {
  tidegate::testing::TempDir dir("opamp-client");
  tidegate::testing::FakeClock clock;
  std::string uid;
  {
    Agent agent(dir.path(), clock);
    agent.wire->replies.emplace_back(PostReply{.http_status = 200, .body = Offer("{}", "h1")});
    REQUIRE(agent.client->PollOnce().ok());
    CHECK(agent.handled == 1);
    OpampClientSnapshot snap = agent.client->Snapshot();
    CHECK(snap.remote_config.hash == "h1");
    CHECK(snap.remote_config.state == RemoteConfigReport::State::kApplied);
    CHECK(snap.bundles_handled == 1);
    CHECK(snap.sequence_num == 1);
    uid = snap.instance_uid_hex;
  }
  Agent restarted(dir.path(), clock);
  CHECK(restarted.client->Snapshot().instance_uid_hex == uid);
  restarted.wire->replies.emplace_back(PostReply{.http_status = 200, .body = Offer("{}", "h1")});
  REQUIRE(restarted.client->PollOnce().ok());
  CHECK(restarted.handled == 0);
  pb::AgentToServer first;
  REQUIRE(first.ParseFromString(restarted.wire->bodies.at(0)));
  CHECK(first.remote_config_status().last_remote_config_hash() == "h1");
  CHECK(first.remote_config_status().status() == pb::RemoteConfigStatuses_APPLIED);
}

TEST_CASE("a failed exchange is counted and the next request is full", "[opamp]") {
  tidegate::testing::TempDir dir("opamp-client-fail");
  tidegate::testing::FakeClock clock;
  Agent agent(dir.path(), clock);
  REQUIRE(agent.client->PollOnce().ok());
  agent.wire->replies.emplace_back(Unavailable("connection refused"));
  CHECK_FALSE(agent.client->PollOnce().ok());
  agent.wire->replies.emplace_back(PostReply{.http_status = 503, .body = {}});
  CHECK_FALSE(agent.client->PollOnce().ok());
  REQUIRE(agent.client->PollOnce().ok());
  OpampClientSnapshot snap = agent.client->Snapshot();
  CHECK(snap.exchanges_ok == 2);
  CHECK(snap.exchanges_failed == 2);
  CHECK(snap.connected);
  pb::AgentToServer second, fourth;
  REQUIRE(second.ParseFromString(agent.wire->bodies.at(1)));
  REQUIRE(fourth.ParseFromString(agent.wire->bodies.at(3)));
  CHECK_FALSE(second.has_agent_description());
  CHECK(fourth.has_agent_description());
  CHECK(fourth.sequence_num() == 4);
}

TEST_CASE("the client refuses a url that is not http(s)", "[opamp]") {
  tidegate::testing::TempDir dir("opamp-client-url");
  tidegate::testing::FakeClock clock;
  auto created = OpampClient::Create(
      {.url = "mqtts://broker:8883", .state_dir = dir.path()},
      [](std::string_view) { return ApplyOutcome{}; }, nullptr, nullptr, clock);
  CHECK(created.status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tidegate::remote::opamp
