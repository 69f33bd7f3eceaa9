// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/opamp_endpoint.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"
#include "remote/opamp/instance_uid.h"
#include "remote/opamp/opamp.pb.h"

namespace tidegate::collector {
namespace {

namespace pb = ::opamp::proto;
using remote::opamp::HexOf;

class StepClock : public Clock {
 public:
  int64_t NowUnixMs() override { return now += 1000; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
  int64_t now = 1764000000000;
};

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

const std::string kUid(16, '\x2a');

struct Server {
  testing::ScratchDir dir;
  StepClock clock;
  std::unique_ptr<LandingStore> store;
  std::unique_ptr<OpampEndpoint> endpoint;

  Server() {
    std::filesystem::create_directories(dir.File("bundles"));
    auto opened = SqliteLandingStore::Open(dir.path(), clock);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    endpoint = std::make_unique<OpampEndpoint>(
        *store, clock, OpampEndpointOptions{.config_dir = dir.File("bundles")});
  }
  void Bundle(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir.File("bundles/" + name), std::ios::binary) << bytes;
  }
  pb::ServerToAgent Post(const pb::AgentToServer& msg, int expect = 200,
                         const std::vector<std::string>* ids = nullptr) {
    HttpReply reply = endpoint->Handle("application/x-protobuf", msg.SerializeAsString(), ids);
    INFO(reply.body);
    REQUIRE(reply.status == expect);
    pb::ServerToAgent out;
    REQUIRE(out.ParseFromString(reply.body));
    return out;
  }
  AgentRecord Agent() {
    auto found = store->FindAgent(HexOf(kUid));
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    return **found;
  }
};

pb::AgentToServer Full(uint64_t seq, const std::string& id = "gw-1") {
  pb::AgentToServer msg;
  msg.set_instance_uid(kUid);
  msg.set_sequence_num(seq);
  msg.set_capabilities(0x1807);
  auto* kv = msg.mutable_agent_description()->add_identifying_attributes();
  kv->set_key("service.instance.id");
  kv->mutable_value()->set_string_value(id);
  msg.mutable_health()->set_healthy(true);
  msg.mutable_health()->set_status("ready");
  (*msg.mutable_effective_config()->mutable_config_map()->mutable_config_map())[""].set_body(
      "a: 1");
  msg.mutable_remote_config_status();
  return msg;
}

pb::AgentToServer Delta(uint64_t seq) {
  pb::AgentToServer msg;
  msg.set_instance_uid(kUid);
  msg.set_sequence_num(seq);
  msg.set_capabilities(0x1807);
  return msg;
}

pb::AgentToServer Status(uint64_t seq, const std::string& hash, pb::RemoteConfigStatuses status,
                         const std::string& error = {}) {
  pb::AgentToServer msg = Delta(seq);
  msg.mutable_remote_config_status()->set_last_remote_config_hash(hash);
  msg.mutable_remote_config_status()->set_status(status);
  msg.mutable_remote_config_status()->set_error_message(error);
  return msg;
}

TEST_CASE("OpAMP: the agent's own bundle is offered until it reports it applied", "[opamp]") {
  Server s;
  s.Bundle("all.json", "{\"fleet\":1}");
  s.Bundle("gw-1.json", "{\"own\":1}");
  pb::ServerToAgent reply = s.Post(Full(1));
  CHECK(reply.instance_uid() == kUid);
  CHECK((reply.capabilities() & pb::ServerCapabilities_OffersRemoteConfig) != 0);
  REQUIRE(reply.has_remote_config());
  CHECK(reply.remote_config().config_hash() == Sha256("{\"own\":1}"));
  const auto& files = reply.remote_config().config().config_map();
  REQUIRE(files.size() == 1);
  CHECK(files.begin()->second.body() == "{\"own\":1}");
  CHECK(files.begin()->second.content_type() == "application/vnd.tidegate.config-bundle+json");

  CHECK(s.Post(Delta(2)).has_remote_config());  // not yet reported: offered again
  reply = s.Post(Status(3, Sha256("{\"own\":1}"), pb::RemoteConfigStatuses_APPLIED));
  CHECK_FALSE(reply.has_remote_config());
  CHECK_FALSE(s.Post(Delta(4)).has_remote_config());
  AgentRecord a = s.Agent();
  CHECK(a.agent_id == "gw-1");
  CHECK(a.sequence_num == 4);
  CHECK(a.config_status == "applied");
  CHECK(a.config_hash == HexOf(Sha256("{\"own\":1}")));
  CHECK(a.healthy);
  CHECK(a.health_status == "ready");
  CHECK(a.effective_config_hash.size() == 64);

  s.Bundle("gw-1.json", "{\"own\":2}");  // a new bundle: offered
  reply = s.Post(Delta(5));
  REQUIRE(reply.has_remote_config());
  CHECK(reply.remote_config().config_hash() == Sha256("{\"own\":2}"));
  reply = s.Post(Status(6, Sha256("{\"own\":2}"), pb::RemoteConfigStatuses_FAILED, "bad\nsig"));
  CHECK_FALSE(reply.has_remote_config());
  CHECK(s.Agent().config_status == "failed");
  CHECK(s.Agent().config_error == "bad sig");
}

TEST_CASE("OpAMP: all.json is the fallback, and no file offers nothing", "[opamp]") {
  Server s;
  CHECK_FALSE(s.Post(Full(1)).has_remote_config());
  s.Bundle("all.json", "{\"fleet\":1}");
  pb::ServerToAgent reply = s.Post(Delta(2));
  REQUIRE(reply.has_remote_config());
  CHECK(reply.remote_config().config_hash() == Sha256("{\"fleet\":1}"));
}

TEST_CASE("OpAMP: missing state is asked for with ReportFullState", "[opamp]") {
  Server s;
  CHECK(s.Post(Delta(5)).flags() == pb::ServerToAgentFlags_ReportFullState);  // unknown
  CHECK(s.Post(Full(6)).flags() == 0);
  CHECK(s.Post(Delta(7)).flags() == 0);
  CHECK(s.Post(Delta(9)).flags() == pb::ServerToAgentFlags_ReportFullState);  // 8 was lost
  CHECK(s.Agent().healthy);  // a delta keeps what the full state said
}

TEST_CASE("OpAMP: bad requests are refused before anything is recorded", "[opamp]") {
  Server s;
  CHECK(s.endpoint->Handle("application/json", Full(1).SerializeAsString()).status == 415);
  CHECK(s.endpoint->Handle("application/x-protobuf", std::string(2 << 20, 'x')).status == 413);
  CHECK(s.endpoint->Handle("application/x-protobuf", "\xff\xff\xff").status == 400);
  pb::AgentToServer short_uid = Full(1);
  short_uid.set_instance_uid("abc");
  s.Post(short_uid, 400);
  s.Post(Full(1, "../etc/passwd"), 400);
  s.Post(Full(1, ".hidden"), 400);
  std::vector<std::string> ids = {"gw-2"};
  s.Post(Full(1, "gw-1"), 403, &ids);
  int agents = 0;
  REQUIRE(s.store->ForEachAgent([&](const AgentRecord&) { return ++agents, Status::Ok(); }).ok());
  CHECK(agents == 0);
  ids = {"gw-1"};
  s.Post(Full(1, "gw-1"), 200, &ids);
}

TEST_CASE("IsSafeAgentId accepts only names that stay inside --config-dir", "[opamp]") {
  CHECK(IsSafeAgentId("gw-01.site_a"));
  CHECK_FALSE(IsSafeAgentId(""));
  CHECK_FALSE(IsSafeAgentId(".."));
  CHECK_FALSE(IsSafeAgentId("a/b"));
  CHECK_FALSE(IsSafeAgentId(std::string(129, 'a')));
}

}  // namespace
}  // namespace tidegate::collector
