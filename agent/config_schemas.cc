// SPDX-License-Identifier: Apache-2.0
#include "agent/config_schemas.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/json_pointer.h"
#include "filters/payload_schema.h"

namespace tidegate::agent {
namespace {

using filters::FieldTypeName;

std::string FieldKey(size_t schema, const std::string& path, const std::string& key) {
  return fmt::format("schemas[{}].fields.{}.{}", schema, path, key);
}

SchemaFieldSpec ReadField(MapReader& fields, const std::string& path) {
  MapReader r(fields.Child(path), fields.KeyPath(path), "schemas[].fields.<pointer>",
              fields.errors());
  SchemaFieldSpec field;
  field.path = path;
  fields.CheckPointer(path, path);
  if (!r.Has("type")) {
    fields.errors()->Add(fields.MarkOf(path), fields.KeyPath(path) + ".type", "is required");
  }
  int type = static_cast<int>(field.type);
  r.Enum("type", &type);
  field.type = static_cast<FieldType>(type);
  r.Bool("required", &field.required);
  r.Number("min", &field.min);
  r.Number("max", &field.max);
  if (r.Has("max_length")) {
    int64_t max_length = 0;
    r.Int("max_length", &max_length);
    field.max_length = static_cast<uint64_t>(max_length);
  }
  r.StrList("enum", &field.enum_values);
  if (field.enum_values.size() > filters::kMaxEnumValues) {
    fields.errors()->Add(r.MarkOf("enum"), r.KeyPath("enum"),
                         fmt::format("at most {} values", filters::kMaxEnumValues));
  }
  r.Finish();
  return field;
}

void ReadFields(MapReader& r, SchemaSpec* spec) {
  const YAML::Node node = r.Child("fields");
  if (!node.IsDefined() || node.IsNull()) return;
  MapReader fields(node, r.KeyPath("fields"), r.errors());
  if (!node.IsMap()) return;  // the reader reported it
  if (node.size() > filters::kMaxSchemaFields) {
    r.errors()->Add(r.MarkOf("fields"), r.KeyPath("fields"),
                    fmt::format("at most {} fields", filters::kMaxSchemaFields));
    return;
  }
  for (const auto& pair : node) {
    if (!pair.first.IsScalar()) continue;  // the reader reported it
    spec->fields.push_back(ReadField(fields, pair.first.Scalar()));
  }
  fields.Finish();
}

SchemaSpec ReadSchema(const YAML::Node& node, const std::string& path, ConfigErrors* errors) {
  MapReader r(node, path, errors);
  SchemaSpec spec;
  r.Str("name", &spec.name);
  if (spec.name.empty()) {
    errors->Add(r.MarkOf("name"), r.KeyPath("name"), "is required");
  } else if (!filters::IsValidSchemaName(spec.name)) {
    errors->Add(r.MarkOf("name"), r.KeyPath("name"),
                "must be 1-63 characters of a-z, 0-9 or '_' (it names a database table)");
  }
  r.Int("version", &spec.version);
  r.Str("match", &spec.match);
  r.CheckTopicFilter("match", spec.match);
  int other = 0;
  r.Enum("other_fields", &other);
  spec.other_fields = static_cast<OtherFields>(other);
  ReadFields(r, &spec);
  r.Finish();
  return spec;
}

bool IsNumericType(FieldType t) { return t == FieldType::kNumber || t == FieldType::kInteger; }

// The rules of one field that do not fit its type, and min above max.
void CheckField(size_t i, const SchemaFieldSpec& f,
                std::vector<std::pair<std::string, std::string>>* out) {
  const std::string type(FieldTypeName(f.type));
  if (!IsNumericType(f.type)) {
    if (f.min)
      out->emplace_back(FieldKey(i, f.path, "min"), "min is for number and integer, not " + type);
    if (f.max)
      out->emplace_back(FieldKey(i, f.path, "max"), "max is for number and integer, not " + type);
  } else if (f.min && f.max && *f.min > *f.max) {
    out->emplace_back(FieldKey(i, f.path, "min"), "min is above max");
  }
  if (f.max_length && f.type != FieldType::kString) {
    out->emplace_back(FieldKey(i, f.path, "max_length"), "max_length is for string, not " + type);
  }
  if (f.enum_values.empty()) return;
  if (f.type == FieldType::kBoolean || f.type == FieldType::kTimestamp) {
    out->emplace_back(FieldKey(i, f.path, "enum"),
                      "enum is for string, integer and number, not " + type);
    return;
  }
  for (const std::string& v : f.enum_values) {
    if (f.type == FieldType::kString) break;
    std::optional<double> number = filters::ParseConfigNumber(v);
    const bool fits = number && (f.type == FieldType::kNumber ||
                                 (std::floor(*number) == *number && std::abs(*number) < 9.2e18 &&
                                  v.find_first_of(".eE") == std::string::npos));
    if (!fits) {
      out->emplace_back(FieldKey(i, f.path, "enum"),
                        fmt::format("enum value '{}' is not of type {}", v, type));
    }
  }
}

// A declared path inside another declared path ("/gps" and "/gps/lat").
void CheckNesting(size_t i, const SchemaSpec& spec,
                  std::vector<std::pair<std::string, std::string>>* out) {
  std::vector<std::vector<std::string>> tokens;
  for (const SchemaFieldSpec& f : spec.fields) {
    auto p = JsonPointer::Parse(f.path);
    tokens.push_back(p.ok() ? p->tokens() : std::vector<std::string>{});
  }
  for (size_t a = 0; a < tokens.size(); ++a) {
    for (size_t b = 0; b < tokens.size(); ++b) {
      if (a == b || tokens[a].empty() || tokens[b].size() <= tokens[a].size()) continue;
      if (std::equal(tokens[a].begin(), tokens[a].end(), tokens[b].begin())) {
        out->emplace_back(fmt::format("schemas[{}].fields.{}", i, spec.fields[b].path),
                          "lies inside the declared field " + spec.fields[a].path);
      }
    }
  }
}

}  // namespace

void ReadSchemas(MapReader& root, std::vector<SchemaSpec>* schemas) {
  YAML::Node list = root.Child("schemas");
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    root.errors()->Add(root.MarkOf("schemas"), "schemas", "expected a list");
    return;
  }
  if (list.size() > filters::kMaxSchemas) {
    root.errors()->Add(root.MarkOf("schemas"), "schemas",
                       fmt::format("at most {} schemas", filters::kMaxSchemas));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    schemas->push_back(ReadSchema(list[i], "schemas[" + std::to_string(i) + "]", root.errors()));
  }
}

std::vector<std::pair<std::string, std::string>> CheckSchemas(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < config.schemas.size(); ++i) {
    for (const SchemaFieldSpec& f : config.schemas[i].fields) CheckField(i, f, &out);
    CheckNesting(i, config.schemas[i], &out);
  }
  for (const filters::SchemaSetProblem& p : filters::CheckSchemaSet(config.schemas)) {
    out.emplace_back(fmt::format("schemas[{}].{}", p.index, p.key), p.message);
  }
  return out;
}

}  // namespace tidegate::agent
