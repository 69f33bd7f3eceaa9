// SPDX-License-Identifier: Apache-2.0
// PayloadSchema: one `schemas[]` entry compiled for validation at ingest (its pointers
// parsed, enum values typed), plus the config-time rules shared by the loader and
// `config check`: which schema a topic uses, which schemas conflict, and which changes a
// newer version of a schema may make. Immutable after Compile; safe to share.
//
// Decisions (docs/schemas.md says the same to operators):
// - A topic uses the highest version among the schemas whose match filter matches it.
// - Two schemas at the same version conflict when their filters overlap (some topic
//   matches both, TopicFiltersOverlap), not only when the filters are identical.
// - A newer version of a name may only add optional fields or widen integer -> number;
//   every other rule of a field stays as it was, and other_fields stays too. match may change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/json_pointer.h"
#include "common/status.h"

namespace tidegate::filters {

inline constexpr size_t kMaxSchemas = 64;        // metric series: schemas x rules
inline constexpr size_t kMaxSchemaFields = 256;  // one typed column each, later
inline constexpr size_t kMaxEnumValues = 256;
inline constexpr size_t kMaxSchemaNameBytes = 63;  // PostgreSQL's identifier length
inline constexpr int64_t kMaxSchemaVersion = 1'000'000;

// The rule a payload broke. Names (SchemaRuleName) are stable: metric labels and
// dead-letter details use them.
enum class SchemaRule {
  kRequired = 0,
  kType,
  kMin,
  kMax,
  kMaxLength,
  kEnum,
  kOtherFields,
  kCount,  // keep last
};

std::string_view SchemaRuleName(SchemaRule rule);
std::string_view FieldTypeName(FieldType type);

struct CompiledField {
  JsonPointer pointer;
  FieldType type = FieldType::kString;
  bool required = false;
  std::optional<double> min, max;
  std::optional<uint64_t> max_length;
  std::vector<std::string> enum_strings;  // type string
  std::vector<double> enum_numbers;       // type number or integer
};

class PayloadSchema {
 public:
  // REQUIRES: spec passed the config loader (pointers parse, enum values have the type).
  static Result<PayloadSchema> Compile(const SchemaSpec& spec);

  const std::string& name() const { return name_; }
  int64_t version() const { return version_; }
  const std::string& match() const { return match_; }
  OtherFields other_fields() const { return other_fields_; }
  const std::vector<CompiledField>& fields() const { return fields_; }
  // True if a top-level key is declared: some field's pointer starts with it.
  bool DeclaresTopLevel(std::string_view key) const;

 private:
  std::string name_;
  int64_t version_ = 1;
  std::string match_;
  OtherFields other_fields_ = OtherFields::kKeep;
  std::vector<CompiledField> fields_;
  std::vector<std::string> top_level_;  // sorted first tokens of the fields' pointers
};

// The schema a topic uses: the highest version whose filter matches; null if none.
const PayloadSchema* SelectSchema(const std::vector<PayloadSchema>& schemas,
                                  std::string_view topic);

// Why `newer` is not a compatible next version of `older` (same name), or "" if it is.
std::string SchemaEvolutionProblem(const SchemaSpec& older, const SchemaSpec& newer);

// Checks across entries: a (name, version) declared twice, two schemas at one version
// whose filters overlap, and each pair of consecutive versions of one name. Each problem is
// (index of the entry it is reported on, key below it, message).
struct SchemaSetProblem {
  size_t index = 0;
  std::string key;
  std::string message;
};
std::vector<SchemaSetProblem> CheckSchemaSet(const std::vector<SchemaSpec>& schemas);

// True if name is 1-63 characters of [a-z0-9_].
bool IsValidSchemaName(std::string_view name);

// Parses an enum value or bound written in the config as a JSON number ("12", "-3.5",
// "1e3"); nullopt if it is not one.
std::optional<double> ParseConfigNumber(std::string_view text);

}  // namespace tidegate::filters
