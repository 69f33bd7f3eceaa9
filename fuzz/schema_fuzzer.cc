// SPDX-License-Identifier: Apache-2.0
// Fuzzes payload schema validation: arbitrary bytes go through the event parser with a
// schema of every type and rule, once with other_fields reject and once with drop.
// Invariants: no crash; a violation's detail is printable ASCII of bounded length (never
// payload bytes beyond a key name); a payload rewritten by drop is a JSON object holding only
// declared top-level keys, and passes the same schema again unchanged.
#include <simdjson.h>

#include <cstdint>
#include <string>

#include "filters/event_parser.h"
#include "filters/payload_schema.h"
#include "fuzz/fuzz_check.h"

namespace {

using tidegate::FieldType;
using tidegate::OtherFields;
using tidegate::SchemaFieldSpec;

SchemaFieldSpec Field(std::string path, FieldType type, bool required = false) {
  SchemaFieldSpec f;
  f.path = std::move(path);
  f.type = type;
  f.required = required;
  return f;
}

tidegate::filters::PayloadSchema Make(OtherFields other) {
  tidegate::SchemaSpec spec{
      .name = "fuzz",
      .version = 1,
      .match = "#",
      .fields = {Field("/device_id", FieldType::kString, true),
                 Field("/ts", FieldType::kTimestamp, true), Field("/n", FieldType::kNumber),
                 Field("/i", FieldType::kInteger), Field("/s", FieldType::kString),
                 Field("/b", FieldType::kBoolean), Field("/o/x", FieldType::kNumber),
                 Field("/a~1b", FieldType::kString)},
      .other_fields = other};
  spec.fields[2].min = -10;
  spec.fields[2].max = 10;
  spec.fields[3].enum_values = {"1", "2", "3"};
  spec.fields[4].max_length = 4;
  spec.fields[4].enum_values = {"a", "b\xC3\xA9"};
  return *tidegate::filters::PayloadSchema::Compile(spec);
}

struct Harness {
  tidegate::EventsSection events;
  tidegate::filters::PayloadSchema reject = Make(OtherFields::kReject);
  tidegate::filters::PayloadSchema drop = Make(OtherFields::kDrop);
  simdjson::dom::parser checker;
};

void CheckDetail(const tidegate::filters::PayloadSchema& schema,
                 const tidegate::filters::EventParser& parser) {
  const std::string detail = tidegate::filters::ViolationDetail(schema, parser.last_violation());
  TG_FUZZ_CHECK(detail.size() < 200);
  for (char c : detail) TG_FUZZ_CHECK(c >= 0x20 && c < 0x7F);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness h;
  static tidegate::filters::EventParser parser(h.events, 1 << 20);
  using tidegate::filters::DropReason;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  tidegate::Event event;
  if (parser.Parse("t", payload, 0, &event, &h.reject) == DropReason::kSchemaViolation) {
    CheckDetail(h.reject, parser);
  }
  const DropReason reason = parser.Parse("t", payload, 0, &event, &h.drop);
  if (reason == DropReason::kSchemaViolation) CheckDetail(h.drop, parser);
  if (reason != DropReason::kNone) return 0;
  simdjson::dom::object root;
  TG_FUZZ_CHECK(h.checker.parse(event.payload).get_object().get(root) == simdjson::SUCCESS);
  for (auto field : root) TG_FUZZ_CHECK(h.drop.DeclaresTopLevel(field.key));
  const std::string once = event.payload;
  TG_FUZZ_CHECK(parser.Parse("t", once, 0, &event, &h.reject) == DropReason::kNone);
  TG_FUZZ_CHECK(event.payload == once);
  return 0;
}
