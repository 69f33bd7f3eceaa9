// SPDX-License-Identifier: Apache-2.0
#include "filters/schema_validator.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "common/time_format.h"

namespace tidegate::filters {
namespace {

using simdjson::ondemand::json_type;
using simdjson::ondemand::number_type;

constexpr size_t kMaxReportedKeyBytes = 64;

// Code points of valid UTF-8 (EventParser checked it): bytes that are not continuations.
uint64_t CodePoints(std::string_view s) {
  return static_cast<uint64_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::optional<SchemaRule> CheckBounds(const CompiledField& f, double value) {
  if (f.min && value < *f.min) return SchemaRule::kMin;
  if (f.max && value > *f.max) return SchemaRule::kMax;
  if (!f.enum_numbers.empty() &&
      std::find(f.enum_numbers.begin(), f.enum_numbers.end(), value) == f.enum_numbers.end()) {
    return SchemaRule::kEnum;
  }
  return std::nullopt;
}

// A JSON integer literal (no fraction, no exponent) within int64.
bool ReadInteger(simdjson::ondemand::value& v, int64_t* out) {
  number_type kind;
  if (v.get_number_type().get(kind) || kind != number_type::signed_integer) return false;
  return !v.get_int64().get(*out);
}

std::optional<SchemaRule> CheckString(simdjson::ondemand::value& v, const CompiledField& f) {
  std::string_view s;
  if (v.get_string().get(s)) return SchemaRule::kType;
  if (f.max_length && CodePoints(s) > *f.max_length) return SchemaRule::kMaxLength;
  if (!f.enum_strings.empty() &&
      std::find(f.enum_strings.begin(), f.enum_strings.end(), s) == f.enum_strings.end()) {
    return SchemaRule::kEnum;
  }
  return std::nullopt;
}

// RFC 3339 text or integer unix milliseconds, within the years 0000-9999.
bool IsTimestamp(simdjson::ondemand::value& v, json_type type) {
  if (type == json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return false;
    auto ms = ParseRfc3339Ms(s);
    return ms.ok() && InRfc3339Range(*ms);
  }
  int64_t ms = 0;
  return type == json_type::number && ReadInteger(v, &ms) && InRfc3339Range(ms);
}

std::optional<SchemaRule> CheckValue(simdjson::ondemand::value& v, const CompiledField& f) {
  json_type type;
  if (v.type().get(type)) return SchemaRule::kType;
  switch (f.type) {
    case FieldType::kNumber: {
      double d = 0;
      if (type != json_type::number || v.get_double().get(d)) return SchemaRule::kType;
      return CheckBounds(f, d);
    }
    case FieldType::kInteger: {
      int64_t i = 0;
      if (type != json_type::number || !ReadInteger(v, &i)) return SchemaRule::kType;
      return CheckBounds(f, static_cast<double>(i));
    }
    case FieldType::kString:
      if (type != json_type::string) return SchemaRule::kType;
      return CheckString(v, f);
    case FieldType::kBoolean:
      if (type != json_type::boolean) return SchemaRule::kType;
      return std::nullopt;
    case FieldType::kTimestamp:
      if (!IsTimestamp(v, type)) return SchemaRule::kType;
      return std::nullopt;
  }
  return SchemaRule::kType;
}

// key as a JSON Pointer for a report: escaped, non-printable bytes as '?', bounded.
std::string ReportedKey(std::string_view key) {
  std::string out = "/";
  for (char c : key) {
    if (out.size() >= kMaxReportedKeyBytes) break;
    auto u = static_cast<unsigned char>(c);
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(u < 0x20 || u >= 0x7F || c == ' ' ? '?' : c);
    }
  }
  return out;
}

// The end of a kept field's text: back over whitespace and the comma before the next key.
size_t TrimFieldEnd(std::string_view json, size_t begin, size_t end) {
  auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (end > begin && blank(json[end - 1])) --end;
  if (end > begin && json[end - 1] == ',') --end;
  while (end > begin && blank(json[end - 1])) --end;
  return end;
}

}  // namespace

std::string ViolationDetail(const PayloadSchema& schema, const SchemaViolation& violation) {
  std::string detail = fmt::format("schema={} v{} path={} rule={}", schema.name(), schema.version(),
                                   violation.path, SchemaRuleName(violation.rule));
  if (violation.rule == SchemaRule::kType) {
    detail += fmt::format(" want={}", FieldTypeName(violation.want));
  }
  return detail;
}

SchemaVerdict SchemaValidator::Validate(simdjson::ondemand::document& doc, std::string_view json,
                                        const PayloadSchema& schema, SchemaViolation* violation) {
  for (const CompiledField& f : schema.fields()) {
    simdjson::ondemand::value v;
    std::optional<SchemaRule> broken;
    if (doc.at_pointer(f.pointer.text()).get(v)) {
      if (f.required) broken = SchemaRule::kRequired;
    } else {
      broken = CheckValue(v, f);
    }
    if (broken) {
      *violation = SchemaViolation{.rule = *broken, .path = f.pointer.text(), .want = f.type};
      return SchemaVerdict::kViolation;
    }
  }
  if (schema.other_fields() == OtherFields::kKeep) return SchemaVerdict::kPass;
  return CheckOtherFields(doc, json, schema, violation);
}

// Undeclared means a top-level key that no declared pointer starts with; what lies inside a
// declared object (e.g. /gps/alt when only /gps/lat is declared) is not judged.
SchemaVerdict SchemaValidator::CheckOtherFields(simdjson::ondemand::document& doc,
                                                std::string_view json, const PayloadSchema& schema,
                                                SchemaViolation* violation) {
  doc.rewind();
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return SchemaVerdict::kPass;  // EventParser checked it
  std::vector<std::pair<size_t, bool>> starts;                  // offset of each key's quote, kept?
  bool dropped = false;
  for (auto item : root) {
    simdjson::ondemand::field field;
    if (std::move(item).get(field)) return SchemaVerdict::kPass;
    const char* quote = field.key().raw() - 1;
    std::string_view key;
    if (field.unescaped_key().get(key)) return SchemaVerdict::kPass;
    const bool declared = schema.DeclaresTopLevel(key);
    if (!declared && schema.other_fields() == OtherFields::kReject) {
      *violation = SchemaViolation{
          .rule = SchemaRule::kOtherFields, .path = ReportedKey(key), .want = FieldType::kString};
      return SchemaVerdict::kViolation;
    }
    dropped = dropped || !declared;
    starts.emplace_back(static_cast<size_t>(quote - json.data()), declared);
  }
  if (!dropped) return SchemaVerdict::kPass;
  const size_t close = json.find_last_of('}');
  rewritten_.assign("{");
  for (size_t i = 0; i < starts.size(); ++i) {
    if (!starts[i].second) continue;
    const size_t begin = starts[i].first;
    const size_t end =
        TrimFieldEnd(json, begin, i + 1 < starts.size() ? starts[i + 1].first : close);
    if (rewritten_.size() > 1) rewritten_.push_back(',');
    rewritten_.append(json.substr(begin, end - begin));
  }
  rewritten_.push_back('}');
  return SchemaVerdict::kPassRewritten;
}

}  // namespace tidegate::filters
