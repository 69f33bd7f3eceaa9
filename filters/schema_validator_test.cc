// SPDX-License-Identifier: Apache-2.0
// Validation of payloads against a schema, through EventParser (the path ingest takes).
#include "filters/schema_validator.h"

#include <catch2/catch.hpp>

#include "filters/event_parser.h"

using tidegate::Event;
using tidegate::EventsSection;
using tidegate::FieldType;
using tidegate::OtherFields;
using tidegate::SchemaFieldSpec;
using tidegate::SchemaSpec;
using tidegate::filters::DropReason;
using tidegate::filters::EventParser;
using tidegate::filters::PayloadSchema;
using tidegate::filters::SchemaRule;
using tidegate::filters::ViolationDetail;

namespace {

SchemaFieldSpec Field(std::string path, FieldType type, bool required = false) {
  SchemaFieldSpec f;
  f.path = std::move(path);
  f.type = type;
  f.required = required;
  return f;
}

PayloadSchema Compile(std::vector<SchemaFieldSpec> fields, OtherFields other = OtherFields::kKeep) {
  SchemaSpec spec{.name = "thermo",
                  .version = 1,
                  .match = "#",
                  .fields = std::move(fields),
                  .other_fields = other};
  auto compiled = PayloadSchema::Compile(spec);
  REQUIRE(compiled.ok());
  return std::move(compiled).value();
}

// Parses payload (device_id and ts are added by the caller's text) against schema: "" if it
// passes, else the dead letter's detail.
struct Outcome {
  DropReason reason;
  std::string detail;
  std::string payload;
};

Outcome Run(const PayloadSchema& schema, const std::string& body) {
  static const EventsSection kEvents;
  EventParser parser(kEvents, 1 << 16);
  Event event;
  const std::string payload =
      R"({"device_id":"d","ts":1764000000000)" + std::string(body.empty() ? "" : ",") + body + "}";
  DropReason reason = parser.Parse("devices/d/telemetry", payload, 1, &event, &schema);
  Outcome out{.reason = reason, .detail = "", .payload = event.payload};
  if (reason == DropReason::kSchemaViolation) {
    out.detail = ViolationDetail(schema, parser.last_violation());
  } else if (reason == DropReason::kNone) {
    CHECK(event.schema_name == "thermo");
    CHECK(event.schema_version == 1);
  }
  return out;
}

std::string Detail(const PayloadSchema& schema, const std::string& body) {
  Outcome o = Run(schema, body);
  return o.reason == DropReason::kNone ? "" : o.detail;
}

}  // namespace

TEST_CASE("schema type number: any JSON number, nothing else", "[filters][schema]") {
  PayloadSchema s = Compile({Field("/t", FieldType::kNumber)});
  CHECK(Detail(s, R"("t":21.5)") == "");
  CHECK(Detail(s, R"("t":-3)") == "");
  CHECK(Detail(s, R"("t":1e300)") == "");
  CHECK(Detail(s, R"("t":"21.5")") == "schema=thermo v1 path=/t rule=type want=number");
  CHECK(Detail(s, R"("t":null)") == "schema=thermo v1 path=/t rule=type want=number");
  CHECK(Detail(s, R"("t":true)") == "schema=thermo v1 path=/t rule=type want=number");
  CHECK(Detail(s, R"("t":[1])") == "schema=thermo v1 path=/t rule=type want=number");
  CHECK(Detail(s, "") == "");  // optional
}

TEST_CASE("schema type integer: an integer literal within int64", "[filters][schema]") {
  PayloadSchema s = Compile({Field("/n", FieldType::kInteger)});
  CHECK(Detail(s, R"("n":3)") == "");
  CHECK(Detail(s, R"("n":-9223372036854775808)") == "");
  CHECK(Detail(s, R"("n":9223372036854775807)") == "");
  const std::string type = "schema=thermo v1 path=/n rule=type want=integer";
  CHECK(Detail(s, R"("n":9223372036854775808)") == type);
  CHECK(Detail(s, R"("n":3.0)") == type);
  CHECK(Detail(s, R"("n":3.5)") == type);
  CHECK(Detail(s, R"("n":1e3)") == type);
  CHECK(Detail(s, R"("n":"3")") == type);
}

TEST_CASE("schema type string, boolean and timestamp", "[filters][schema]") {
  PayloadSchema s = Compile({Field("/s", FieldType::kString), Field("/b", FieldType::kBoolean),
                             Field("/at", FieldType::kTimestamp)});
  CHECK(Detail(s, R"("s":"x","b":false,"at":"2026-12-05T10:00:00.5+01:00")") == "");
  CHECK(Detail(s, R"("at":1764000000000)") == "");
  CHECK(Detail(s, R"("s":1)") == "schema=thermo v1 path=/s rule=type want=string");
  CHECK(Detail(s, R"("b":"true")") == "schema=thermo v1 path=/b rule=type want=boolean");
  CHECK(Detail(s, R"("b":0)") == "schema=thermo v1 path=/b rule=type want=boolean");
  const std::string at = "schema=thermo v1 path=/at rule=type want=timestamp";
  CHECK(Detail(s, R"("at":"yesterday")") == at);
  CHECK(Detail(s, R"("at":1764000000000.5)") == at);
  CHECK(Detail(s, R"("at":999999999999999999)") == at);  // past year 9999
  CHECK(Detail(s, R"("at":true)") == at);
}

TEST_CASE("schema rules: required, min, max, max_length, enum", "[filters][schema]") {
  SchemaFieldSpec t = Field("/t", FieldType::kNumber, true);
  t.min = -40;
  t.max = 85;
  SchemaFieldSpec unit = Field("/unit", FieldType::kString);
  unit.max_length = 2;
  unit.enum_values = {"C", "F",
                      "\xC2\xB0"
                      "C"};
  SchemaFieldSpec level = Field("/level", FieldType::kInteger);
  level.enum_values = {"1", "2", "3"};
  PayloadSchema s = Compile({t, unit, level});
  CHECK(Detail(s, R"("t":-40,"unit":"°C","level":2)") == "");  // 2 code points, 3 bytes
  CHECK(Detail(s, R"("t":85)") == "");
  CHECK(Detail(s, R"("unit":"C")") == "schema=thermo v1 path=/t rule=required");
  CHECK(Detail(s, R"("t":-40.01)") == "schema=thermo v1 path=/t rule=min");
  CHECK(Detail(s, R"("t":85.5)") == "schema=thermo v1 path=/t rule=max");
  CHECK(Detail(s, R"("t":1,"unit":"CCC")") == "schema=thermo v1 path=/unit rule=max_length");
  CHECK(Detail(s, R"("t":1,"unit":"K")") == "schema=thermo v1 path=/unit rule=enum");
  CHECK(Detail(s, R"("t":1,"level":4)") == "schema=thermo v1 path=/level rule=enum");
}

TEST_CASE("schema fields at nested paths and escaped keys", "[filters][schema]") {
  PayloadSchema s =
      Compile({Field("/gps/lat", FieldType::kNumber, true), Field("/a~1b", FieldType::kString)});
  CHECK(Detail(s, R"("gps":{"lat":52.5,"alt":3},"a/b":"x")") == "");
  CHECK(Detail(s, R"("gps":{"lon":1})") == "schema=thermo v1 path=/gps/lat rule=required");
  CHECK(Detail(s, R"("gps":5)") == "schema=thermo v1 path=/gps/lat rule=required");
  CHECK(Detail(s, R"("gps":{"lat":1},"a/b":2)") ==
        "schema=thermo v1 path=/a~1b rule=type want=string");
}

TEST_CASE("other_fields keep, drop and reject", "[filters][schema]") {
  const std::vector<SchemaFieldSpec> fields = {Field("/device_id", FieldType::kString),
                                               Field("/ts", FieldType::kTimestamp),
                                               Field("/gps/lat", FieldType::kNumber)};
  SECTION("keep passes everything on") {
    Outcome o = Run(Compile(fields), R"("x":1,"gps":{"lat":1,"y":2})");
    CHECK(o.reason == DropReason::kNone);
    CHECK(o.payload == R"({"device_id":"d","ts":1764000000000,"x":1,"gps":{"lat":1,"y":2}})");
  }
  SECTION("drop removes undeclared top-level fields, nested ones stay") {
    PayloadSchema s = Compile(fields, OtherFields::kDrop);
    Outcome o = Run(s, R"( "x" : {"deep":[1,2,{"}":"{"}]} , "gps":{"lat":1,"y":2}, "z":"last" )");
    CHECK(o.reason == DropReason::kNone);
    CHECK(o.payload == R"({"device_id":"d","ts":1764000000000,"gps":{"lat":1,"y":2}})");
    Outcome first = Run(s, "");
    CHECK(first.payload == R"({"device_id":"d","ts":1764000000000})");
  }
  SECTION("drop of a first field and of every field") {
    PayloadSchema s = Compile({Field("/ts", FieldType::kTimestamp)}, OtherFields::kDrop);
    Outcome o = Run(s, R"("gps":1)");
    CHECK(o.payload == R"({"ts":1764000000000})");
  }
  SECTION("reject names the undeclared key, never its value") {
    PayloadSchema s = Compile(fields, OtherFields::kReject);
    CHECK(Detail(s, R"("gps":{"lat":1,"y":2})") == "");
    CHECK(Detail(s, R"("secret_value_key":"canary-4711")") ==
          "schema=thermo v1 path=/secret_value_key rule=other_fields");
    CHECK(Detail(s, R"("a/b~\n":1)") == "schema=thermo v1 path=/a~1b~0? rule=other_fields");
  }
}

TEST_CASE("a message that does not parse is refused for that reason first", "[filters][schema]") {
  PayloadSchema s = Compile({Field("/t", FieldType::kNumber, true)});
  EventsSection events;
  EventParser parser(events, 1024);
  Event event;
  CHECK(parser.Parse("t", R"({"device_id":"d"})", 1, &event, &s) == DropReason::kMissingEventTime);
  CHECK(parser.Parse("t", R"({"device_id":"d","ts":1,)", 1, &event, &s) ==
        DropReason::kMalformedJson);
  CHECK(parser.Parse("t", R"({"device_id":"d","ts":1})", 1, &event, nullptr) == DropReason::kNone);
  CHECK(event.schema_name.empty());
  CHECK(event.schema_version == 0);
}
