// SPDX-License-Identifier: Apache-2.0
#include "uplink/mqtt_ack.h"

#include <catch2/catch.hpp>

namespace tidegate::uplink {
namespace {

TEST_CASE("acks map landed and duplicate to acked, rejected and retry keep a reason",
          "[uplink][mqtt]") {
  auto landed = ParseMqttAck(R"({"batch_id":"b-1-2","status":"landed"})");
  REQUIRE(landed.ok());
  CHECK(landed->kind == SendResult::Kind::kAcked);
  CHECK(landed->batch_id == "b-1-2");
  CHECK(ParseMqttAck(R"({"status":"duplicate","batch_id":"b-1-2"})")->kind ==
        SendResult::Kind::kAcked);
  auto rejected = ParseMqttAck(R"({"batch_id":"b","status":"rejected","reason":"bad\nx"})");
  REQUIRE(rejected.ok());
  CHECK(rejected->kind == SendResult::Kind::kRejected);
  CHECK(rejected->reason == "bad x");
  CHECK(ParseMqttAck(R"({"batch_id":"b","status":"retry"})")->kind == SendResult::Kind::kRetry);
}

TEST_CASE("hostile acks are refused without echoing them", "[uplink][mqtt]") {
  CHECK_FALSE(ParseMqttAck("").ok());
  CHECK_FALSE(ParseMqttAck("[1,2]").ok());
  CHECK_FALSE(ParseMqttAck(R"({"batch_id":"b"})").ok());
  CHECK_FALSE(ParseMqttAck(R"({"batch_id":"b","status":"maybe"})").ok());
  CHECK_FALSE(ParseMqttAck(R"({"batch_id":"b","status":7})").ok());
  std::string huge = R"({"batch_id":"b","status":"landed","reason":")" +
                     std::string(kMaxAckPayloadBytes, 'x') + "\"}";
  auto refused = ParseMqttAck(huge);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("xxx") == std::string::npos);
  auto long_reason = ParseMqttAck(R"({"batch_id":"b","status":"rejected","reason":")" +
                                  std::string(1000, 'r') + "\"}");
  REQUIRE(long_reason.ok());
  CHECK(long_reason->reason.size() == kMaxAckReasonBytes);
}

TEST_CASE("the correlation data names the batch, the JSON batch_id is the fallback",
          "[uplink][mqtt]") {
  MqttAck ack;
  ack.batch_id = "json-id";
  CHECK(AckBatchId("corr-id", ack) == "corr-id");
  CHECK(AckBatchId("", ack) == "json-id");
  CHECK(AckBatchId(std::string("\x01\x02", 2), ack) == "json-id");
  ack.batch_id.clear();
  CHECK_FALSE(AckBatchId("", ack).has_value());
}

}  // namespace
}  // namespace tidegate::uplink
