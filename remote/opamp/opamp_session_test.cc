// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/opamp_session.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "remote/opamp/opamp.pb.h"

namespace tidegate::remote::opamp {
namespace {

namespace pb = ::opamp::proto;

// A fake verifier: refuses a bundle whose text contains "bad", applies anything else.
struct FakeHandler {
  std::vector<std::string> bundles;
  ApplyOutcome operator()(std::string_view bytes) {
    bundles.emplace_back(bytes);
    if (bytes.find("bad") != std::string_view::npos) {
      return {.state = ApplyOutcome::State::kFailed,
              .reason = "signature does not verify",
              .version = 0,
              .bundle_hash = {}};
    }
    return {.state = ApplyOutcome::State::kApplied, .reason = {}, .version = 1, .bundle_hash = {}};
  }
};

struct Fixture {
  FakeHandler handler;
  std::string config = "agent:\n  id: gw-1\n";
  HealthReport health{.healthy = true, .status = "ready", .last_error = {}};
  OpampSession session{SessionOptions{.instance_uid = std::string(16, '\x07'),
                                      .agent_id = "gw-1",
                                      .agent_version = "0.1.0",
                                      .start_time_unix_ms = 1000,
                                      .max_response_bytes = 4096,
                                      .max_bundle_bytes = 64},
                       [this](std::string_view b) { return handler(b); }, [this] { return config; },
                       [this] { return health; }};

  pb::AgentToServer Next() {
    pb::AgentToServer msg;
    REQUIRE(msg.ParseFromString(session.BuildRequest()));
    return msg;
  }
};

std::string Offer(std::string_view body, std::string_view hash,
                  std::string_view content_type = kBundleContentType, uint64_t flags = 0) {
  pb::ServerToAgent msg;
  msg.set_flags(flags);
  auto& file = (*msg.mutable_remote_config()->mutable_config()->mutable_config_map())["tidegate"];
  file.set_body(std::string(body));
  file.set_content_type(std::string(content_type));
  msg.mutable_remote_config()->set_config_hash(std::string(hash));
  return msg.SerializeAsString();
}

std::string Flags(uint64_t flags) {
  pb::ServerToAgent msg;
  msg.set_flags(flags);
  return msg.SerializeAsString();
}

TEST_CASE("the first AgentToServer carries the full state, later ones only changes", "[opamp]") {
  Fixture f;
  pb::AgentToServer first = f.Next();
  CHECK(first.instance_uid() == std::string(16, '\x07'));
  CHECK(first.sequence_num() == 1);
  CHECK(first.capabilities() == 0x1807);
  REQUIRE(first.has_agent_description());
  bool saw_name = false;
  for (const auto& kv : first.agent_description().identifying_attributes()) {
    if (kv.key() == "service.name") saw_name = kv.value().string_value() == "tidegate";
  }
  CHECK(saw_name);
  REQUIRE(first.has_health());
  CHECK(first.health().healthy());
  CHECK(first.health().status() == "ready");
  CHECK(first.health().start_time_unix_nano() == 1'000'000'000);
  REQUIRE(first.has_effective_config());
  CHECK(first.effective_config().config_map().config_map().at("").body() == f.config);
  CHECK(first.has_remote_config_status());

  pb::AgentToServer second = f.Next();
  CHECK(second.sequence_num() == 2);
  CHECK(second.capabilities() == 0x1807);
  CHECK(second.instance_uid() == first.instance_uid());
  CHECK_FALSE(second.has_agent_description());
  CHECK_FALSE(second.has_health());
  CHECK_FALSE(second.has_effective_config());
  CHECK_FALSE(second.has_remote_config_status());

  f.health = {.healthy = false, .status = "uplink failing", .last_error = "HTTP 503"};
  pb::AgentToServer third = f.Next();
  CHECK(third.sequence_num() == 3);
  REQUIRE(third.has_health());
  CHECK_FALSE(third.health().healthy());
  CHECK_FALSE(third.has_effective_config());

  f.config = "agent:\n  id: gw-2\n";
  pb::AgentToServer fourth = f.Next();
  CHECK(fourth.has_effective_config());
  CHECK_FALSE(fourth.has_health());
}

TEST_CASE("ReportFullState and a failed exchange make the next message full", "[opamp]") {
  Fixture f;
  f.Next();
  REQUIRE(f.session.HandleResponse(Flags(0)).ok());
  CHECK_FALSE(f.Next().has_agent_description());

  auto outcome = f.session.HandleResponse(Flags(kReportFullStateFlag));
  REQUIRE(outcome.ok());
  CHECK(outcome->full_state_requested);
  pb::AgentToServer full = f.Next();
  CHECK(full.sequence_num() == 3);
  CHECK(full.has_agent_description());
  CHECK(full.has_health());
  CHECK(full.has_effective_config());
  CHECK(full.has_remote_config_status());
  CHECK_FALSE(f.Next().has_agent_description());

  f.session.RequestFailed();
  pb::AgentToServer after_failure = f.Next();
  CHECK(after_failure.sequence_num() == 5);
  CHECK(after_failure.has_agent_description());
}

TEST_CASE("a bundle is handed over once per config_hash and its outcome reported", "[opamp]") {
  Fixture f;
  f.Next();
  auto outcome = f.session.HandleResponse(Offer("{\"good\":1}", "hash-1"));
  REQUIRE(outcome.ok());
  CHECK(outcome->bundle_handled);
  REQUIRE(f.handler.bundles.size() == 1);
  CHECK(f.handler.bundles[0] == "{\"good\":1}");
  pb::AgentToServer report = f.Next();
  REQUIRE(report.has_remote_config_status());
  CHECK(report.remote_config_status().last_remote_config_hash() == "hash-1");
  CHECK(report.remote_config_status().status() == pb::RemoteConfigStatuses_APPLIED);
  CHECK(report.remote_config_status().error_message().empty());

  // The same hash again (a server that does not dedup): not handed over, nothing to report.
  outcome = f.session.HandleResponse(Offer("{\"good\":1}", "hash-1"));
  REQUIRE(outcome.ok());
  CHECK_FALSE(outcome->bundle_handled);
  CHECK(f.handler.bundles.size() == 1);
  CHECK_FALSE(f.Next().has_remote_config_status());

  // A refused bundle: FAILED with the handler's reason.
  outcome = f.session.HandleResponse(Offer("{\"bad\":1}", "hash-2"));
  REQUIRE(outcome.ok());
  CHECK(outcome->bundle_handled);
  pb::AgentToServer failed = f.Next();
  REQUIRE(failed.has_remote_config_status());
  CHECK(failed.remote_config_status().last_remote_config_hash() == "hash-2");
  CHECK(failed.remote_config_status().status() == pb::RemoteConfigStatuses_FAILED);
  CHECK(failed.remote_config_status().error_message() == "signature does not verify");
}

TEST_CASE("a rollback is reported as FAILED under the applied bundle's hash", "[opamp]") {
  Fixture f;
  f.Next();
  REQUIRE(f.session.HandleResponse(Offer("{\"good\":1}", "hash-1")).ok());
  REQUIRE(f.Next().remote_config_status().status() == pb::RemoteConfigStatuses_APPLIED);
  f.session.ReportLaterOutcome({.state = ApplyOutcome::State::kRolledBack,
                                .reason = "uplink_failing",
                                .version = 1,
                                .bundle_hash = {}});
  pb::AgentToServer report = f.Next();
  REQUIRE(report.has_remote_config_status());
  CHECK(report.remote_config_status().last_remote_config_hash() == "hash-1");
  CHECK(report.remote_config_status().status() == pb::RemoteConfigStatuses_FAILED);
  CHECK(report.remote_config_status().error_message() == "rolled back: uplink_failing");
  // The same bundle offered again is not handed over.
  auto outcome = f.session.HandleResponse(Offer("{\"good\":1}", "hash-1"));
  REQUIRE(outcome.ok());
  CHECK_FALSE(outcome->bundle_handled);
}

TEST_CASE("remote configs without one bounded tidegate bundle are reported FAILED unread",
          "[opamp]") {
  Fixture f;
  REQUIRE(f.session.HandleResponse(Offer("x: 1", "h-yaml", "text/yaml")).ok());
  CHECK(f.session.remote_config_report().state == RemoteConfigReport::State::kFailed);
  CHECK(f.session.remote_config_report().error.find("no file of content type") !=
        std::string::npos);

  REQUIRE(f.session.HandleResponse(Offer(std::string(65, 'a'), "h-big")).ok());
  CHECK(f.session.remote_config_report().hash == "h-big");
  CHECK(f.session.remote_config_report().error.find("exceeds the limit of 64") !=
        std::string::npos);
  CHECK(f.handler.bundles.empty());
}

TEST_CASE("an undecodable or oversized ServerToAgent is refused", "[opamp]") {
  Fixture f;
  CHECK(f.session.HandleResponse("\xff\xff\xff").status().code() == StatusCode::kCorruption);
  CHECK(f.session.HandleResponse(std::string(4097, '\0')).status().code() ==
        StatusCode::kCorruption);
  pb::ServerToAgent err;
  err.mutable_error_response()->set_error_message("overloaded\nnow");
  auto outcome = f.session.HandleResponse(err.SerializeAsString());
  REQUIRE(outcome.ok());
  CHECK(outcome->server_error == "overloaded now");
}

TEST_CASE("a restored remote config status is reported first and dedups its hash", "[opamp]") {
  Fixture f;
  f.session.RestoreRemoteConfigReport(
      {.hash = "hash-9", .state = RemoteConfigReport::State::kApplied, .error = {}});
  pb::AgentToServer first = f.Next();
  CHECK(first.remote_config_status().last_remote_config_hash() == "hash-9");
  CHECK(first.remote_config_status().status() == pb::RemoteConfigStatuses_APPLIED);
  REQUIRE(f.session.HandleResponse(Offer("{}", "hash-9")).ok());
  CHECK(f.handler.bundles.empty());
}

}  // namespace
}  // namespace tidegate::remote::opamp
