// SPDX-License-Identifier: Apache-2.0
#include "filters/event_parser.h"

#include <catch2/catch.hpp>

#include "common/time_format.h"

using tidegate::Event;
using tidegate::EventsSection;
using tidegate::TimeFormat;
using tidegate::filters::DropReason;
using tidegate::filters::EventParser;

namespace {

DropReason ParseWith(const EventsSection& events, std::string_view topic, std::string_view payload,
                     Event* event, uint64_t max_bytes = 1024) {
  EventParser parser(events, max_bytes);
  return parser.Parse(topic, payload, 42, event);
}

}  // namespace

TEST_CASE("a valid event yields device id, event time and the payload bytes", "[filters]") {
  EventsSection events;
  Event event;
  std::string payload = R"({"device_id":"dev-1","ts":1764000000123,"temp":21.5})";
  REQUIRE(ParseWith(events, "devices/dev-1/telemetry", payload, &event) == DropReason::kNone);
  CHECK(event.device_id == "dev-1");
  CHECK(event.event_time_ms == 1764000000123);
  CHECK(event.ingest_time_ms == 42);
  CHECK(event.topic == "devices/dev-1/telemetry");
  CHECK(event.payload == payload);
}

TEST_CASE("device id can come from a topic level", "[filters]") {
  EventsSection events;
  events.device_id_topic_level = 1;
  Event event;
  CHECK(ParseWith(events, "devices/abc/telemetry", R"({"ts":1})", &event) == DropReason::kNone);
  CHECK(event.device_id == "abc");
  CHECK(ParseWith(events, "devices", R"({"ts":1})", &event) == DropReason::kMissingDeviceId);
}

TEST_CASE("event time formats: unix_s, rfc3339 and nested pointers", "[filters]") {
  EventsSection events;
  Event event;
  SECTION("unix_s with fraction") {
    events.event_time_format = TimeFormat::kUnixS;
    REQUIRE(ParseWith(events, "t", R"({"device_id":"d","ts":1764000000.5})", &event) ==
            DropReason::kNone);
    CHECK(event.event_time_ms == 1764000000500);
  }
  SECTION("rfc3339 at a nested path") {
    events.event_time_format = TimeFormat::kRfc3339;
    events.event_time_field = "/meta/time";
    REQUIRE(ParseWith(events, "t", R"({"device_id":"d","meta":{"time":"2025-11-24T16:00:00Z"}})",
                      &event) == DropReason::kNone);
    CHECK(event.event_time_ms == 1764000000000);
  }
}

TEST_CASE("bad input is a dead-letter reason, never a crash", "[filters]") {
  EventsSection events;
  Event event;
  struct Case {
    std::string topic, payload;
    DropReason want;
  };
  std::vector<Case> cases = {
      {"t", R"({"device_id":"d","ts":1)", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":1} trailing)", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":1,"x":[1,2,})", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":1,"x":tru})", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":1,"x":01})", DropReason::kMalformedJson},
      {"t", "", DropReason::kMalformedJson},
      {"t", "{\"device_id\":\"d\n\",\"ts\":1}", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":1,"x":"\q"})", DropReason::kMalformedJson},
      // Found by fuzz/privacy_fuzzer: a bare word starting like null used to throw.
      {"t", R"({"device_id":"d","ts":1,"a":["x",note"y"]})", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":nul})", DropReason::kMalformedJson},
      {"t", R"({"device_id":"d","ts":note})", DropReason::kMalformedJson},
      {"t", "[1,2]", DropReason::kNotAnObject},
      {"t", "\"str\"", DropReason::kNotAnObject},
      {"t", R"({"device_id":"d"})", DropReason::kMissingEventTime},
      {"t", R"({"device_id":"d","ts":null})", DropReason::kMissingEventTime},
      {"t", R"({"device_id":"d","ts":"yesterday"})", DropReason::kBadEventTime},
      {"t", R"({"device_id":"d","ts":1e400})", DropReason::kMalformedJson},
      {"t", R"({"ts":1})", DropReason::kMissingDeviceId},
      {"t", R"({"device_id":{"a":1},"ts":1})", DropReason::kMissingDeviceId},
      {"t", R"({"device_id":"d\u0000x","ts":1})", DropReason::kBadDeviceId},
      {"t", R"({"device_id":"\u0000","ts":1})", DropReason::kBadDeviceId},
      {"t", std::string("{\"device_id\":\"d\",\"ts\":1,\"x\":\"a\0b\"}", 34),
       DropReason::kMalformedJson},
      {"t", "{\"device_id\":\"d\xff\",\"ts\":1}", DropReason::kInvalidUtf8Payload},
      {"t\xc0\xaf", R"({"device_id":"d","ts":1})", DropReason::kInvalidUtf8Topic},
      {"t", std::string(200, '[') + std::string(200, ']'), DropReason::kNotAnObject},
      {"t", "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}", DropReason::kTooDeep},
  };
  for (const auto& c : cases) {
    INFO(c.payload);
    CHECK(ParseWith(events, c.topic, c.payload, &event) == c.want);
  }
}

TEST_CASE("event times outside years 0000-9999 are out of range, the ends are not",
          "[filters][issue-10]") {
  EventsSection events;
  Event event;
  auto with_ts = [](const std::string& ts) { return R"({"device_id":"d","ts":)" + ts + "}"; };
  SECTION("unix_ms") {
    for (const char* ts :
         {"9999999999999999", "-9999999999999999", "253402300800000", "-62167219200001",
          "9223372036854775807", "-9223372036854775808", "1e300", "-1e300"}) {
      INFO(ts);
      CHECK(ParseWith(events, "t", with_ts(ts), &event) == DropReason::kEventTimeOutOfRange);
    }
    REQUIRE(ParseWith(events, "t", with_ts("253402300799999"), &event) == DropReason::kNone);
    CHECK(event.event_time_ms == tidegate::kMaxRfc3339Ms);
    REQUIRE(ParseWith(events, "t", with_ts("-62167219200000"), &event) == DropReason::kNone);
    CHECK(event.event_time_ms == tidegate::kMinRfc3339Ms);
  }
  SECTION("unix_s") {
    events.event_time_format = TimeFormat::kUnixS;
    CHECK(ParseWith(events, "t", with_ts("253402300800"), &event) ==
          DropReason::kEventTimeOutOfRange);
    CHECK(ParseWith(events, "t", with_ts("-62167219200.001"), &event) ==
          DropReason::kEventTimeOutOfRange);
    REQUIRE(ParseWith(events, "t", with_ts("253402300799.999"), &event) == DropReason::kNone);
    CHECK(event.event_time_ms == tidegate::kMaxRfc3339Ms);
  }
  SECTION("rfc3339 whose zone offset leaves the range") {
    events.event_time_format = TimeFormat::kRfc3339;
    CHECK(ParseWith(events, "t", with_ts(R"("0000-01-01T00:00:00+00:01")"), &event) ==
          DropReason::kEventTimeOutOfRange);
    CHECK(ParseWith(events, "t", with_ts(R"("9999-12-31T23:59:59-00:01")"), &event) ==
          DropReason::kEventTimeOutOfRange);
    REQUIRE(ParseWith(events, "t", with_ts(R"("9999-12-31T23:59:59.999Z")"), &event) ==
            DropReason::kNone);
    CHECK(event.event_time_ms == tidegate::kMaxRfc3339Ms);
  }
  CHECK(tidegate::filters::DropReasonName(DropReason::kEventTimeOutOfRange) ==
        "event_time_out_of_range");
}

TEST_CASE("payloads over max_payload_bytes are refused before parsing", "[filters]") {
  EventsSection events;
  Event event;
  std::string big = R"({"device_id":"d","ts":1,"pad":")" + std::string(2000, 'x') + "\"}";
  CHECK(ParseWith(events, "t", big, &event, 1024) == DropReason::kPayloadTooLarge);
  CHECK(ParseWith(events, "t", big, &event, 4096) == DropReason::kNone);
}
