// SPDX-License-Identifier: Apache-2.0
#include "filters/payload_schema.h"

#include <catch2/catch.hpp>

using tidegate::FieldType;
using tidegate::OtherFields;
using tidegate::SchemaFieldSpec;
using tidegate::SchemaSpec;
using tidegate::filters::CheckSchemaSet;
using tidegate::filters::IsValidSchemaName;
using tidegate::filters::PayloadSchema;
using tidegate::filters::SchemaEvolutionProblem;
using tidegate::filters::SelectSchema;

namespace {

SchemaSpec Spec(std::string name, int64_t version, std::string match,
                std::vector<SchemaFieldSpec> fields = {}) {
  return SchemaSpec{.name = std::move(name),
                    .version = version,
                    .match = std::move(match),
                    .fields = std::move(fields),
                    .other_fields = OtherFields::kKeep};
}

SchemaFieldSpec Field(std::string path, FieldType type, bool required = false) {
  SchemaFieldSpec f;
  f.path = std::move(path);
  f.type = type;
  f.required = required;
  return f;
}

}  // namespace

TEST_CASE("a topic uses the highest version whose filter matches", "[filters][schema]") {
  std::vector<PayloadSchema> schemas;
  for (const SchemaSpec& spec :
       {Spec("thermo", 1, "devices/+/telemetry"), Spec("thermo", 3, "devices/new/telemetry"),
        Spec("thermo", 2, "devices/#"), Spec("door", 1, "doors/#")}) {
    schemas.push_back(*PayloadSchema::Compile(spec));
  }
  CHECK(SelectSchema(schemas, "devices/new/telemetry")->version() == 3);
  CHECK(SelectSchema(schemas, "devices/old/telemetry")->version() == 2);
  CHECK(SelectSchema(schemas, "doors/1")->name() == "door");
  CHECK(SelectSchema(schemas, "other/1") == nullptr);
}

TEST_CASE("a newer version may only add optional fields or widen integer to number",
          "[filters][schema]") {
  const SchemaSpec v1 = Spec("t", 1, "#", {Field("/a", FieldType::kInteger, true)});
  CHECK(SchemaEvolutionProblem(v1, Spec("t", 2, "#",
                                        {Field("/a", FieldType::kInteger, true),
                                         Field("/b", FieldType::kString)})) == "");
  CHECK(SchemaEvolutionProblem(v1, Spec("t", 2, "#", {Field("/a", FieldType::kNumber, true)})) ==
        "");
  CHECK(SchemaEvolutionProblem(v1, Spec("t", 2, "#", {Field("/a", FieldType::kString, true)})) ==
        "version 2 after version 1: field /a: type integer -> string is not a widening (only "
        "integer -> number is)");
  CHECK(SchemaEvolutionProblem(v1, Spec("t", 2, "#")) ==
        "version 2 after version 1: field /a was removed");
  CHECK(SchemaEvolutionProblem(v1, Spec("t", 2, "#", {Field("/a", FieldType::kInteger)})) ==
        "version 2 after version 1: field /a: required changed");
  CHECK(SchemaEvolutionProblem(v1, Spec("t", 2, "#",
                                        {Field("/a", FieldType::kInteger, true),
                                         Field("/b", FieldType::kString, true)})) ==
        "version 2 after version 1: new field /b is required (a new version may only add "
        "optional fields)");
  SchemaSpec narrowed = Spec("t", 2, "#", {Field("/a", FieldType::kInteger, true)});
  narrowed.fields[0].max = 10;
  CHECK(SchemaEvolutionProblem(v1, narrowed) ==
        "version 2 after version 1: field /a: min or max changed");
  SchemaSpec rejecting = Spec("t", 2, "#", {Field("/a", FieldType::kInteger, true)});
  rejecting.other_fields = OtherFields::kReject;
  CHECK(SchemaEvolutionProblem(v1, rejecting) == "version 2 after version 1: other_fields changed");
  // A narrowing back: number -> integer.
  CHECK(SchemaEvolutionProblem(Spec("t", 1, "#", {Field("/a", FieldType::kNumber)}),
                               Spec("t", 2, "#", {Field("/a", FieldType::kInteger)})) != "");
}

TEST_CASE("schema set: duplicates, overlaps at one version, consecutive versions",
          "[filters][schema]") {
  CHECK(CheckSchemaSet({Spec("a", 1, "x/#"), Spec("b", 1, "y/#"), Spec("a", 2, "x/#")}).empty());
  auto twice = CheckSchemaSet({Spec("a", 1, "x/#"), Spec("a", 1, "z/#")});
  REQUIRE(twice.size() == 1);
  CHECK(twice[0].index == 1);
  CHECK(twice[0].message == "schema a version 1 is declared twice (first as schemas[0])");
  // Identical filters overlap, and so do filters that share any topic.
  for (const char* other : {"x/+", "x/#", "#", "+/y"}) {
    INFO(other);
    auto overlap = CheckSchemaSet({Spec("a", 1, "x/y"), Spec("b", 1, other)});
    REQUIRE(overlap.size() == 1);
    CHECK(overlap[0].key == "match");
  }
  CHECK(CheckSchemaSet({Spec("a", 1, "x/y"), Spec("b", 2, "x/y")}).empty());
  auto evolution = CheckSchemaSet({Spec("a", 3, "#", {Field("/n", FieldType::kString)}),
                                   Spec("a", 1, "#", {Field("/n", FieldType::kNumber)})});
  REQUIRE(evolution.size() == 1);
  CHECK(evolution[0].index == 0);
  CHECK(evolution[0].key == "version");
}

TEST_CASE("schema names are bounded to [a-z0-9_]{1,63}", "[filters][schema]") {
  CHECK(IsValidSchemaName("thermo_v2"));
  CHECK(IsValidSchemaName(std::string(63, 'a')));
  CHECK_FALSE(IsValidSchemaName(std::string(64, 'a')));
  CHECK_FALSE(IsValidSchemaName(""));
  CHECK_FALSE(IsValidSchemaName("Thermo"));
  CHECK_FALSE(IsValidSchemaName("a-b"));
  CHECK_FALSE(IsValidSchemaName("a.b"));
}
