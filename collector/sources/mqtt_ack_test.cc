// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/mqtt_ack.h"

#include <catch2/catch.hpp>
#include <string>

namespace tidegate::collector {
namespace {

TEST_CASE("the agent_id comes only from a tidegate/<id>/batches topic", "[collector][mqtt]") {
  CHECK(AgentIdFromBatchTopic("tidegate/gw-1/batches") == "gw-1");
  CHECK_FALSE(AgentIdFromBatchTopic("tidegate//batches"));
  CHECK_FALSE(AgentIdFromBatchTopic("tidegate/a/b/batches"));
  CHECK_FALSE(AgentIdFromBatchTopic("tidegate/gw-1/acks"));
  CHECK_FALSE(AgentIdFromBatchTopic("other/gw-1/batches"));
  CHECK_FALSE(AgentIdFromBatchTopic("tidegate/+/batches"));
  CHECK_FALSE(AgentIdFromBatchTopic(std::string("tidegate/a\0b/batches", 20)));
  CHECK_FALSE(
      AgentIdFromBatchTopic("tidegate/" + std::string(kMaxAgentIdBytes + 1, 'x') + "/batches"));
  CHECK(AgentIdFromBatchTopic("tidegate/" + std::string(kMaxAgentIdBytes, 'x') + "/batches"));
  CHECK(AckTopicFor("gw-1") == "tidegate/gw-1/acks");
}

TEST_CASE("acks are the protocol's JSON, with a bounded, escaped reason", "[collector][mqtt]") {
  CHECK(AckJson("b-1", AckStatus::kLanded, "ignored") == R"({"batch_id":"b-1","status":"landed"})");
  CHECK(AckJson("b-1", AckStatus::kDuplicate, "") == R"({"batch_id":"b-1","status":"duplicate"})");
  CHECK(AckJson("b\"1", AckStatus::kRetry, "storage error") ==
        R"({"batch_id":"b\"1","status":"retry","reason":"storage error"})");
  CHECK(AckJson("\xff", AckStatus::kRejected, "\xfe") ==
        R"({"batch_id":"<invalid utf-8>","status":"rejected","reason":"<invalid utf-8>"})");
  // 199 ASCII bytes then a 2-byte character: the cut must not split it.
  const std::string reason = std::string(199, 'r') + "\xc3\xa9" + "tail";
  const std::string json = AckJson("b", AckStatus::kRejected, reason);
  CHECK(json ==
        R"({"batch_id":"b","status":"rejected","reason":")" + std::string(199, 'r') + "\"}");
}

TEST_CASE("the --mqtt URL is mqtts://HOST[:PORT] only", "[collector][mqtt]") {
  Result<MqttBrokerUrl> url = ParseMqttBrokerUrl("mqtts://broker.example:8884");
  REQUIRE(url.ok());
  CHECK(url->host == "broker.example");
  CHECK(url->port == 8884);
  url = ParseMqttBrokerUrl("mqtts://[::1]");
  REQUIRE(url.ok());
  CHECK(url->host == "::1");
  CHECK(url->port == 8883);
  for (const char* bad :
       {"mqtt://h:1883", "h:8883", "mqtts://", "mqtts://h:", "mqtts://h:0", "mqtts://h:70000",
        "mqtts://h:1x", "mqtts://[::1", "mqtts://h/path", "mqtts://u@h"}) {
    INFO(bad);
    CHECK(ParseMqttBrokerUrl(bad).status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("a group name is a single plain topic level", "[collector][mqtt]") {
  CHECK(ValidateGroupName("collectors-7.eu_1").ok());
  for (const std::string& bad : {std::string(), std::string("a/b"), std::string("a+"),
                                 std::string("#"), std::string(65, 'g')}) {
    INFO(bad);
    CHECK_FALSE(ValidateGroupName(bad).ok());
  }
}

}  // namespace
}  // namespace tidegate::collector
