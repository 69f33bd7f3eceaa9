// SPDX-License-Identifier: Apache-2.0
#include "filters/event_parser.h"

#include <cmath>

#include "common/json_escape.h"
#include "common/time_format.h"

namespace tidegate::filters {
namespace {

using simdjson::ondemand::json_type;

constexpr int kMaxDepth = 64;  // deeper payloads are hostile or broken, not telemetry

// Walks the whole value so that every byte is validated (On-Demand only checks what is
// read). Returns kNone, kMalformedJson or kTooDeep.
DropReason ValidateValue(simdjson::ondemand::value value, int depth) {
  if (depth > kMaxDepth) return DropReason::kTooDeep;
  json_type type;
  if (value.type().get(type)) return DropReason::kMalformedJson;
  switch (type) {
    case json_type::object: {
      simdjson::ondemand::object object;
      if (value.get_object().get(object)) return DropReason::kMalformedJson;
      for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return DropReason::kMalformedJson;
        simdjson::ondemand::value child;
        if (field.value().get(child)) return DropReason::kMalformedJson;
        DropReason r = ValidateValue(child, depth + 1);
        if (r != DropReason::kNone) return r;
      }
      return DropReason::kNone;
    }
    case json_type::array: {
      simdjson::ondemand::array array;
      if (value.get_array().get(array)) return DropReason::kMalformedJson;
      for (auto element : array) {
        simdjson::ondemand::value child;
        if (element.get(child)) return DropReason::kMalformedJson;
        DropReason r = ValidateValue(child, depth + 1);
        if (r != DropReason::kNone) return r;
      }
      return DropReason::kNone;
    }
    case json_type::string: {
      std::string_view s;
      return value.get_string().get(s) ? DropReason::kMalformedJson : DropReason::kNone;
    }
    case json_type::number: {
      simdjson::ondemand::number n;
      return value.get_number().get(n) ? DropReason::kMalformedJson : DropReason::kNone;
    }
    case json_type::boolean: {
      bool b;
      return value.get_bool().get(b) ? DropReason::kMalformedJson : DropReason::kNone;
    }
    case json_type::null: {
      bool is_null = false;
      return value.is_null().get(is_null) || !is_null ? DropReason::kMalformedJson
                                                      : DropReason::kNone;
    }
  }
  return DropReason::kMalformedJson;
}

DropReason ValidateDocument(simdjson::ondemand::document& doc) {
  simdjson::ondemand::object root;
  json_type type;
  if (doc.type().get(type)) return DropReason::kMalformedJson;
  if (type != json_type::object) return DropReason::kNotAnObject;
  if (doc.get_object().get(root)) return DropReason::kMalformedJson;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return DropReason::kMalformedJson;
    simdjson::ondemand::value child;
    if (field.value().get(child)) return DropReason::kMalformedJson;
    DropReason r = ValidateValue(child, 1);
    if (r != DropReason::kNone) return r;
  }
  // simdjson 3.0 has no document::at_end(): a location past the root object means
  // trailing content.
  const char* rest = nullptr;
  return doc.current_location().get(rest) ? DropReason::kNone : DropReason::kMalformedJson;
}

// A scalar's raw JSON text without the whitespace On-Demand leaves after it.
std::string_view TrimmedToken(simdjson::ondemand::value& value) {
  std::string_view token = value.raw_json_token();
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\t' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  return token;
}

// Converts a JSON number of seconds or milliseconds to ms. A number beyond the years
// 0000-9999 (including one too large for int64) is out of range.
DropReason NumberToMs(double value, double scale, int64_t* out) {
  double ms = std::floor(value * scale);
  if (std::isnan(ms)) return DropReason::kBadEventTime;
  if (ms < static_cast<double>(kMinRfc3339Ms) || ms > static_cast<double>(kMaxRfc3339Ms)) {
    return DropReason::kEventTimeOutOfRange;
  }
  *out = static_cast<int64_t>(ms);
  return DropReason::kNone;
}

}  // namespace

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kPayloadTooLarge:
      return "payload_too_large";
    case DropReason::kInvalidUtf8Topic:
      return "invalid_utf8_topic";
    case DropReason::kInvalidUtf8Payload:
      return "invalid_utf8_payload";
    case DropReason::kMalformedJson:
      return "malformed_json";
    case DropReason::kNotAnObject:
      return "not_an_object";
    case DropReason::kTooDeep:
      return "too_deep";
    case DropReason::kMissingEventTime:
      return "missing_event_time";
    case DropReason::kBadEventTime:
      return "bad_event_time";
    case DropReason::kEventTimeOutOfRange:
      return "event_time_out_of_range";
    case DropReason::kMissingDeviceId:
      return "missing_device_id";
    case DropReason::kPrivacyFailed:
      return "privacy_failed";
    case DropReason::kBadDeviceId:
      return "bad_device_id";
    case DropReason::kSchemaViolation:
      return "schema_violation";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view TopicLevel(std::string_view topic, int level) {
  size_t start = 0;
  for (int i = 0; i < level; ++i) {
    size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  size_t end = topic.find('/', start);
  return topic.substr(start, end == std::string_view::npos ? topic.size() - start : end - start);
}

EventParser::EventParser(const EventsSection& events, uint64_t max_payload_bytes)
    : events_(events), max_payload_bytes_(max_payload_bytes) {}

DropReason EventParser::Parse(std::string_view topic, std::string_view payload,
                              int64_t ingest_time_ms, Event* event, const PayloadSchema* schema) {
  if (payload.size() > max_payload_bytes_) return DropReason::kPayloadTooLarge;
  if (!IsValidUtf8(topic)) return DropReason::kInvalidUtf8Topic;
  padded_.assign(payload);
  padded_.resize(payload.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  auto error = parser_.iterate(padded_.data(), payload.size(), padded_.size()).get(doc);
  if (error == simdjson::UTF8_ERROR) return DropReason::kInvalidUtf8Payload;
  if (error) return DropReason::kMalformedJson;
  DropReason r = ValidateDocument(doc);
  if (r != DropReason::kNone) {
    // Stage 1 reports bad UTF-8 lazily through the first access that meets it.
    return IsValidUtf8(payload) ? r : DropReason::kInvalidUtf8Payload;
  }
  r = ExtractDeviceId(doc, topic, &event->device_id);
  if (r != DropReason::kNone) return r;
  r = ExtractEventTime(doc, &event->event_time_ms);
  if (r != DropReason::kNone) return r;
  ExtractId(doc);
  event->topic.assign(topic);
  event->ingest_time_ms = ingest_time_ms;
  event->flags = 0;
  event->kind = RecordKind::kEvent;
  if (schema == nullptr) {
    event->schema_name.clear();
    event->schema_version = 0;
    event->payload.assign(payload);
    return DropReason::kNone;
  }
  switch (validator_.Validate(doc, std::string_view(padded_.data(), payload.size()), *schema,
                              &violation_)) {
    case SchemaVerdict::kViolation:
      return DropReason::kSchemaViolation;
    case SchemaVerdict::kPassRewritten:
      event->payload.assign(validator_.rewritten());
      break;
    case SchemaVerdict::kPass:
      event->payload.assign(payload);
      break;
  }
  event->schema_name.assign(schema->name());
  event->schema_version = schema->version();
  return DropReason::kNone;
}

DropReason EventParser::ExtractDeviceId(simdjson::ondemand::document& doc, std::string_view topic,
                                        std::string* device_id) {
  if (events_.device_id_topic_level) {
    std::string_view level = TopicLevel(topic, *events_.device_id_topic_level);
    if (level.empty()) return DropReason::kMissingDeviceId;
    device_id->assign(level);
    return DropReason::kNone;
  }
  simdjson::ondemand::value value;
  if (doc.at_pointer(events_.device_id_field).get(value)) return DropReason::kMissingDeviceId;
  json_type type;
  if (value.type().get(type)) return DropReason::kMissingDeviceId;
  std::string_view text;
  if (type == json_type::string) {
    if (value.get_string().get(text)) return DropReason::kMissingDeviceId;
  } else if (type == json_type::number) {
    text = TrimmedToken(value);
  } else {
    return DropReason::kMissingDeviceId;
  }
  if (text.empty()) return DropReason::kMissingDeviceId;
  // PostgreSQL text (the collector's store) cannot hold U+0000; the collector would reject
  // every batch holding it. A topic level cannot hold it (MQTT forbids it in topic names).
  if (text.find('\0') != std::string_view::npos) return DropReason::kBadDeviceId;
  device_id->assign(text);
  return DropReason::kNone;
}

void EventParser::ExtractId(simdjson::ondemand::document& doc) {
  id_.clear();
  if (events_.id_field.empty()) return;
  simdjson::ondemand::value value;
  json_type type;
  if (doc.at_pointer(events_.id_field).get(value) || value.type().get(type)) return;
  std::string_view text;
  if (type == json_type::string) {
    if (value.get_string().get(text)) return;
  } else if (type == json_type::number) {
    text = TrimmedToken(value);
  }
  id_.assign(text);
}

DropReason EventParser::ExtractEventTime(simdjson::ondemand::document& doc,
                                         int64_t* event_time_ms) {
  simdjson::ondemand::value value;
  auto error = doc.at_pointer(events_.event_time_field).get(value);
  if (error == simdjson::NO_SUCH_FIELD || error == simdjson::INDEX_OUT_OF_BOUNDS) {
    return DropReason::kMissingEventTime;
  }
  if (error) return DropReason::kBadEventTime;
  bool is_null = false;
  if (!value.is_null().get(is_null) && is_null) return DropReason::kMissingEventTime;
  if (events_.event_time_format == TimeFormat::kRfc3339) {
    std::string_view text;
    if (value.get_string().get(text)) return DropReason::kBadEventTime;
    auto parsed = ParseRfc3339Ms(text);
    if (!parsed.ok()) return DropReason::kBadEventTime;
    // A zone offset or a leap second can carry a year 0000 or 9999 time past the range.
    if (!InRfc3339Range(*parsed)) return DropReason::kEventTimeOutOfRange;
    *event_time_ms = *parsed;
    return DropReason::kNone;
  }
  double number = 0;
  if (value.get_double().get(number)) return DropReason::kBadEventTime;
  double scale = events_.event_time_format == TimeFormat::kUnixS ? 1000.0 : 1.0;
  return NumberToMs(number, scale, event_time_ms);
}

}  // namespace tidegate::filters
