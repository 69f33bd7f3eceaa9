// SPDX-License-Identifier: Apache-2.0
#include "filters/payload_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "common/topic_filter.h"

namespace tidegate::filters {
namespace {

const SchemaFieldSpec* FindField(const SchemaSpec& spec, const std::string& path) {
  for (const SchemaFieldSpec& f : spec.fields) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

// Why field `now` (in the newer version) is not a compatible successor of `was`, or "".
std::string FieldChange(const SchemaFieldSpec& was, const SchemaFieldSpec& now) {
  if (was.type != now.type &&
      !(was.type == FieldType::kInteger && now.type == FieldType::kNumber)) {
    return fmt::format("type {} -> {} is not a widening (only integer -> number is)",
                       FieldTypeName(was.type), FieldTypeName(now.type));
  }
  if (was.required != now.required) return "required changed";
  if (was.min != now.min || was.max != now.max) return "min or max changed";
  if (was.max_length != now.max_length) return "max_length changed";
  if (was.enum_values != now.enum_values) return "enum changed";
  return "";
}

}  // namespace

std::string_view SchemaRuleName(SchemaRule rule) {
  switch (rule) {
    case SchemaRule::kRequired:
      return "required";
    case SchemaRule::kType:
      return "type";
    case SchemaRule::kMin:
      return "min";
    case SchemaRule::kMax:
      return "max";
    case SchemaRule::kMaxLength:
      return "max_length";
    case SchemaRule::kEnum:
      return "enum";
    case SchemaRule::kOtherFields:
      return "other_fields";
    case SchemaRule::kCount:
      break;
  }
  return "unknown";
}

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kNumber:
      return "number";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kString:
      return "string";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kTimestamp:
      return "timestamp";
  }
  return "unknown";
}

std::optional<double> ParseConfigNumber(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

bool IsValidSchemaName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSchemaNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Result<PayloadSchema> PayloadSchema::Compile(const SchemaSpec& spec) {
  PayloadSchema schema;
  schema.name_ = spec.name;
  schema.version_ = spec.version;
  schema.match_ = spec.match;
  schema.other_fields_ = spec.other_fields;
  for (const SchemaFieldSpec& f : spec.fields) {
    TG_ASSIGN_OR_RETURN(JsonPointer pointer, JsonPointer::Parse(f.path));
    if (pointer.IsRoot()) return InvalidArgument("schema field path must not be the root");
    CompiledField field{.pointer = std::move(pointer),
                        .type = f.type,
                        .required = f.required,
                        .min = f.min,
                        .max = f.max,
                        .max_length = f.max_length,
                        .enum_strings = {},
                        .enum_numbers = {}};
    for (const std::string& v : f.enum_values) {
      if (f.type == FieldType::kString) {
        field.enum_strings.push_back(v);
        continue;
      }
      std::optional<double> number = ParseConfigNumber(v);
      if (!number) return InvalidArgument("enum value '" + v + "' is not a number");
      field.enum_numbers.push_back(*number);
    }
    schema.top_level_.push_back(field.pointer.tokens().front());
    schema.fields_.push_back(std::move(field));
  }
  std::sort(schema.top_level_.begin(), schema.top_level_.end());
  return schema;
}

bool PayloadSchema::DeclaresTopLevel(std::string_view key) const {
  return std::binary_search(top_level_.begin(), top_level_.end(), key,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

const PayloadSchema* SelectSchema(const std::vector<PayloadSchema>& schemas,
                                  std::string_view topic) {
  const PayloadSchema* best = nullptr;
  for (const PayloadSchema& s : schemas) {
    if ((best == nullptr || s.version() > best->version()) && TopicMatches(s.match(), topic)) {
      best = &s;
    }
  }
  return best;
}

std::string SchemaEvolutionProblem(const SchemaSpec& older, const SchemaSpec& newer) {
  std::string where = fmt::format("version {} after version {}: ", newer.version, older.version);
  for (const SchemaFieldSpec& was : older.fields) {
    const SchemaFieldSpec* now = FindField(newer, was.path);
    if (now == nullptr) return fmt::format("{}field {} was removed", where, was.path);
    std::string change = FieldChange(was, *now);
    if (!change.empty()) return fmt::format("{}field {}: {}", where, was.path, change);
  }
  for (const SchemaFieldSpec& now : newer.fields) {
    if (now.required && FindField(older, now.path) == nullptr) {
      return fmt::format("{}new field {} is required (a new version may only add optional fields)",
                         where, now.path);
    }
  }
  if (older.other_fields != newer.other_fields) return where + "other_fields changed";
  return "";
}

std::vector<SchemaSetProblem> CheckSchemaSet(const std::vector<SchemaSpec>& schemas) {
  std::vector<SchemaSetProblem> problems;
  for (size_t i = 0; i < schemas.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const SchemaSpec& a = schemas[j];
      const SchemaSpec& b = schemas[i];
      if (a.version != b.version) continue;
      if (a.name == b.name) {
        problems.push_back({i, "version",
                            fmt::format("schema {} version {} is declared twice (first as "
                                        "schemas[{}])",
                                        b.name, b.version, j)});
      } else if (IsValidTopicFilter(a.match) && IsValidTopicFilter(b.match) &&
                 TopicFiltersOverlap(a.match, b.match)) {
        problems.push_back(
            {i, "match",
             fmt::format("overlaps schemas[{}] ({} version {}, match '{}') at the same "
                         "version: a topic matching both would have two schemas",
                         j, a.name, a.version, a.match)});
      }
    }
  }
  // Consecutive versions of each name, in version order.
  std::map<std::string, std::map<int64_t, size_t>> by_name;
  for (size_t i = 0; i < schemas.size(); ++i) {
    by_name[schemas[i].name].emplace(schemas[i].version, i);
  }
  for (const auto& [name, versions] : by_name) {
    const SchemaSpec* prev = nullptr;
    for (const auto& [version, index] : versions) {
      if (prev != nullptr) {
        std::string problem = SchemaEvolutionProblem(*prev, schemas[index]);
        if (!problem.empty()) problems.push_back({index, "version", problem});
      }
      prev = &schemas[index];
    }
  }
  return problems;
}

}  // namespace tidegate::filters
