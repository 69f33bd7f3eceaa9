// SPDX-License-Identifier: Apache-2.0
// The schemas[] section: every refusal names file, line and key.
#include "agent/config_schemas.h"

#include <catch2/catch.hpp>

#include "agent/config_loader.h"
#include "agent/config_semantics.h"

using tidegate::Config;
using tidegate::FieldType;
using tidegate::OtherFields;
using tidegate::Result;
using tidegate::agent::CheckConfigSemantics;
using tidegate::agent::ConfigProblem;
using tidegate::agent::ParseConfig;

namespace {

// Lines 1-6; schemas start on line 7.
const std::string kBase = R"(source:
  mqtt:
    topics:
      - filter: "devices/#"
uplink: {url: https://127.0.0.1:8443/v1/batches}
schemas:
)";

// The loader's error text, or the semantic problems one a line; "" if none.
std::string Problems(const std::string& schemas) {
  Result<Config> config = ParseConfig(kBase + schemas, "s.yaml");
  if (!config.ok()) return config.status().message();
  std::string out;
  for (const ConfigProblem& p : CheckConfigSemantics(*config, {.check_files = false})) {
    out += p.ToString("s.yaml") + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("a schema loads with its fields in order", "[config][schema]") {
  Result<Config> config = ParseConfig(kBase + R"(  - name: thermo
    version: 2
    match: devices/+/telemetry
    other_fields: drop
    fields:
      /temperature: {type: number, required: true, min: -40.5, max: 85}
      /unit: {type: string, max_length: 3, enum: [C, F]}
      /ok: {type: boolean}
)",
                                      "s.yaml");
  REQUIRE(config.ok());
  REQUIRE(config->schemas.size() == 1);
  const auto& s = config->schemas[0];
  CHECK(s.name == "thermo");
  CHECK(s.version == 2);
  CHECK(s.other_fields == OtherFields::kDrop);
  REQUIRE(s.fields.size() == 3);
  CHECK(s.fields[0].path == "/temperature");
  CHECK(s.fields[0].required);
  CHECK(*s.fields[0].min == -40.5);
  CHECK(*s.fields[0].max == 85);
  CHECK(s.fields[1].type == FieldType::kString);
  CHECK(*s.fields[1].max_length == 3);
  CHECK(s.fields[1].enum_values == std::vector<std::string>{"C", "F"});
  CHECK_FALSE(s.fields[2].required);
  CHECK(Problems(R"(  - name: thermo
    fields:
      /temperature: {type: number}
)") == "");
}

TEST_CASE("schema key errors name file, line and key", "[config][schema]") {
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: float}\n") ==
        "s.yaml:9: schemas[0].fields./a.type: expected one of number, integer, string, boolean, "
        "timestamp, got 'float'");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: string, max_lenght: 3}\n") ==
        "s.yaml:9: schemas[0].fields./a.max_lenght: unknown key (did you mean 'max_length'?)");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: string, max_length: 1048577}\n") ==
        "s.yaml:9: schemas[0].fields./a.max_length: '1048577' is out of range (allowed: "
        "0..1048576)");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: string, max_length: 1048576}\n") ==
        "");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: string, max_length: -1}\n") ==
        "s.yaml:9: schemas[0].fields./a.max_length: '-1' is out of range (allowed: "
        "0..1048576)");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {required: true}\n") ==
        "s.yaml:9: schemas[0].fields./a.type: is required");
  CHECK(Problems("  - name: t\n    fields:\n      a: {type: string}\n") ==
        "s.yaml:9: schemas[0].fields.a: 'a' is not a JSON Pointer to a field (such as "
        "/user/email)");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: string}\n      /a: {type: number}\n")
            .find("s.yaml:10: schemas[0].fields./a: duplicate key (first at line 9)") !=
        std::string::npos);
  CHECK(Problems("  - name: Thermo\n") ==
        "s.yaml:7: schemas[0].name: must be 1-63 characters of a-z, 0-9 or '_' (it names a "
        "database table)");
  CHECK(Problems("  - name: " + std::string(64, 'a') + "\n").find("schemas[0].name: must be") !=
        std::string::npos);
  CHECK(Problems("  - name: t\n    version: 0\n") ==
        "s.yaml:8: schemas[0].version: '0' is out of range (allowed: 1..1000000)");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: number, min: low}\n") ==
        "s.yaml:9: schemas[0].fields./a.min: expected a number, got 'low'");
  CHECK(Problems("  - name: t\n    other_fields: ignore\n") ==
        "s.yaml:8: schemas[0].other_fields: expected one of keep, drop, reject, got 'ignore'");
}

TEST_CASE("schema rules that do not fit the type are refused", "[config][schema]") {
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: number, min: 5, max: 1}\n") ==
        "s.yaml:9: schemas[0].fields./a.min: min is above max\n");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: string, max: 1}\n") ==
        "s.yaml:9: schemas[0].fields./a.max: max is for number and integer, not string\n");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: boolean, min: 1}\n") ==
        "s.yaml:9: schemas[0].fields./a.min: min is for number and integer, not boolean\n");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: integer, max_length: 3}\n") ==
        "s.yaml:9: schemas[0].fields./a.max_length: max_length is for string, not integer\n");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: integer, enum: [1, 2.5]}\n") ==
        "s.yaml:9: schemas[0].fields./a.enum: enum value '2.5' is not of type integer\n");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: number, enum: [1, x]}\n") ==
        "s.yaml:9: schemas[0].fields./a.enum: enum value 'x' is not of type number\n");
  CHECK(Problems("  - name: t\n    fields:\n      /a: {type: boolean, enum: [true]}\n") ==
        "s.yaml:9: schemas[0].fields./a.enum: enum is for string, integer and number, not "
        "boolean\n");
  CHECK(Problems(
            "  - name: t\n    fields:\n      /g: {type: string}\n      /g/x: {type: number}\n") ==
        "s.yaml:10: schemas[0].fields./g/x: lies inside the declared field /g\n");
}

TEST_CASE("schemas conflicting at one version or changing incompatibly are refused",
          "[config][schema]") {
  CHECK(Problems(R"(  - name: a
    match: devices/+/telemetry
  - name: b
    match: "devices/#"
)") == "s.yaml:10: schemas[1].match: overlaps schemas[0] (a version 1, match "
       "'devices/+/telemetry') at the same version: a topic matching both would have two "
       "schemas\n");
  CHECK(Problems(R"(  - name: a
    fields:
      /n: {type: integer}
  - name: a
    version: 2
    fields:
      /n: {type: number}
      /m: {type: string}
)") == "");
  CHECK(Problems(R"(  - name: a
    fields:
      /n: {type: number}
  - name: a
    version: 2
    fields:
      /n: {type: integer}
)") == "s.yaml:11: schemas[1].version: version 2 after version 1: field /n: type number -> "
       "integer is not a widening (only integer -> number is)\n");
}

TEST_CASE("schema counts are bounded", "[config][schema]") {
  std::string many;
  for (int i = 0; i < 65; ++i) many += "  - {name: s" + std::to_string(i) + "}\n";
  CHECK(Problems(many) == "s.yaml:6: schemas: at most 64 schemas");
  std::string fields = "  - name: t\n    fields:\n";
  for (int i = 0; i < 257; ++i) fields += "      /f" + std::to_string(i) + ": {type: string}\n";
  CHECK(Problems(fields) == "s.yaml:8: schemas[0].fields: at most 256 fields");
  std::string values = "  - name: t\n    fields:\n      /a: {type: string, enum: [";
  for (int i = 0; i < 257; ++i) values += (i ? ", v" : "v") + std::to_string(i);
  CHECK(Problems(values + "]}\n") == "s.yaml:9: schemas[0].fields./a.enum: at most 256 values");
}
