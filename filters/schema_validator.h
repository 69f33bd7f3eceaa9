// SPDX-License-Identifier: Apache-2.0
// SchemaValidator checks one parsed payload against its PayloadSchema. It works on the
// simdjson document EventParser already built (no second parse): each declared field is
// found with at_pointer on that document, and other_fields walks the root object's keys once.
// It stops at the first violation, in the order the fields were declared (then
// other_fields), and reports the schema, the field path and the rule, never the value.
// One per ingest thread (it reuses a buffer); not thread-safe.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "filters/payload_schema.h"

namespace tidegate::filters {

struct SchemaViolation {
  SchemaRule rule = SchemaRule::kType;
  // The declared field's JSON Pointer, or for other_fields the undeclared top-level key as
  // a pointer (a field name, never a value; non-printable bytes replaced, at most 64 bytes).
  std::string path;
  FieldType want = FieldType::kString;  // the declared type (rule type)
};

// "schema=thermo v1 path=/temperature rule=type want=number": the dead letter's detail.
std::string ViolationDetail(const PayloadSchema& schema, const SchemaViolation& violation);

enum class SchemaVerdict { kPass, kPassRewritten, kViolation };

class SchemaValidator {
 public:
  // doc: a document that EventParser fully validated as a JSON object, iterating json, the
  // bytes it was parsed from (without the padding). On kPassRewritten (other_fields drop
  // removed something) rewritten() holds the payload without the undeclared fields; on
  // kViolation *violation says why.
  SchemaVerdict Validate(simdjson::ondemand::document& doc, std::string_view json,
                         const PayloadSchema& schema, SchemaViolation* violation);

  const std::string& rewritten() const { return rewritten_; }

 private:
  SchemaVerdict CheckOtherFields(simdjson::ondemand::document& doc, std::string_view json,
                                 const PayloadSchema& schema, SchemaViolation* violation);

  std::string rewritten_;
};

}  // namespace tidegate::filters
