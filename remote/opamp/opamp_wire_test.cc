// SPDX-License-Identifier: Apache-2.0
// The wire check independent of remote/opamp/opamp.proto: a body the client really sends is
// decoded with `protoc --decode_raw` (no schema), and the field numbers of the public OpAMP
// spec (open-telemetry/opamp-spec proto/opamp.proto, AgentToServer) must be where the spec
// puts them: 1 instance_uid, 2 sequence_num, 3 agent_description, 4 capabilities, 5 health,
// 6 effective_config, 7 remote_config_status (2 = status, APPLIED = 1, FAILED = 3).
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "remote/opamp/fake_poster.h"
#include "remote/opamp/opamp.pb.h"
#include "remote/opamp/opamp_client.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace tidegate::remote::opamp {
namespace {

std::string DecodeRaw(const tidegate::testing::TempDir& dir, const std::string& body) {
  const std::string in = dir.File("body.bin");
  std::ofstream(in, std::ios::binary) << body;
  std::string cmd = std::string(TG_PROTOC) + " --decode_raw < " + in;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  REQUIRE(::pclose(pipe) == 0);
  return out;
}

// The field numbers at the top level of protoc's text ("1: ..." or "3 {").
std::set<int> TopLevelFields(const std::string& text) {
  std::set<int> fields;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == ' ' || line[0] == '}') continue;
    fields.insert(std::stoi(line));
  }
  return fields;
}

TEST_CASE("the AgentToServer the client sends has the public spec's field numbers", "[opamp]") {
  tidegate::testing::TempDir dir("opamp-wire");
  tidegate::testing::FakeClock clock;
  auto wire = std::make_shared<testing::FakePosterState>();
  ::opamp::proto::ServerToAgent offer;
  auto& file = (*offer.mutable_remote_config()->mutable_config()->mutable_config_map())["b"];
  file.set_body("{}");
  file.set_content_type(kBundleContentType);
  offer.mutable_remote_config()->set_config_hash("hash-A");
  wire->replies.emplace_back(PostReply{.http_status = 200, .body = offer.SerializeAsString()});
  auto client = OpampClient::Create(
      {.url = "http://127.0.0.1:1/v1/opamp", .state_dir = dir.path(), .agent_id = "gw-1"},
      [](std::string_view) {
        return ApplyOutcome{.state = ApplyOutcome::State::kFailed,
                            .reason = "refused",
                            .version = 0,
                            .bundle_hash = {}};
      },
      [] { return std::string("a: 1\n"); },
      [] { return HealthReport{.healthy = true, .status = "ready", .last_error = {}}; }, clock,
      std::make_unique<testing::FakePoster>(wire));
  REQUIRE(client.ok());
  REQUIRE((*client)->PollOnce().ok());
  REQUIRE((*client)->PollOnce().ok());
  REQUIRE(wire->bodies.size() == 2);

  std::string first = DecodeRaw(dir, wire->bodies[0]);
  INFO(first);
  CHECK(TopLevelFields(first) == std::set<int>{1, 2, 3, 4, 5, 6, 7});
  CHECK(first.find("\n2: 1\n") != std::string::npos);     // sequence_num 1
  CHECK(first.find("\n4: 6151\n") != std::string::npos);  // capabilities 0x1807
  CHECK(first.find("\"service.name\"") != std::string::npos);

  std::string second = DecodeRaw(dir, wire->bodies[1]);
  INFO(second);
  CHECK(TopLevelFields(second) == std::set<int>{1, 2, 4, 7});
  CHECK(second.find("\n2: 2\n") != std::string::npos);
  CHECK(second.find("1: \"hash-A\"") != std::string::npos);   // last_remote_config_hash
  CHECK(second.find("2: 3") != std::string::npos);            // status FAILED
  CHECK(second.find("3: \"refused\"") != std::string::npos);  // error_message
}

}  // namespace
}  // namespace tidegate::remote::opamp
