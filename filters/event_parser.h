// SPDX-License-Identifier: Apache-2.0
// EventParser turns one MQTT message into an Event or a dead-letter reason: size check,
// UTF-8 check of the topic, a full validating JSON parse (simdjson On-Demand), and the
// extraction of device id and event time as configured in `events`. Bad input is a
// verdict, never an error or a crash. One EventParser per ingest thread (it reuses its
// parser and padding buffer); not thread-safe.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/event.h"
#include "common/status.h"
#include "filters/payload_schema.h"
#include "filters/schema_validator.h"

namespace tidegate::filters {

// Why a message was dead-lettered. Names (DropReasonName) are stable: metrics and the
// dead-letter table use them.
enum class DropReason {
  kNone = 0,
  kPayloadTooLarge,
  kInvalidUtf8Topic,
  kInvalidUtf8Payload,
  kMalformedJson,
  kNotAnObject,
  kTooDeep,
  kMissingEventTime,
  kBadEventTime,
  kEventTimeOutOfRange,  // before year 0000 or after 9999: not writable as RFC 3339
  kMissingDeviceId,
  kPrivacyFailed,    // the privacy stage could not rewrite it: never stored unfiltered
  kBadDeviceId,      // the device id holds a NUL byte (e.g. JSON "\u0000"): no store holds it
  kSchemaViolation,  // the payload breaks its topic's schema (filters/schema_validator.h)
  kCount,            // number of reasons; keep last
};

std::string_view DropReasonName(DropReason reason);

class EventParser {
 public:
  // REQUIRES: config was validated by the config loader (pointers parse).
  EventParser(const EventsSection& events, uint64_t max_payload_bytes);

  // Parses payload received on topic at ingest_time_ms. On kNone, *event holds topic,
  // device id, event time, ingest time, schema and the payload bytes (still unfiltered: the
  // caller runs the privacy stage next). Otherwise *event is unspecified. With a schema
  // (the topic's, SelectSchema), a message that parses is then validated against it on
  // the same document: kSchemaViolation with last_violation() set, or the payload without
  // undeclared fields when its other_fields is drop.
  DropReason Parse(std::string_view topic, std::string_view payload, int64_t ingest_time_ms,
                   Event* event, const PayloadSchema* schema = nullptr);

  // Why the last kSchemaViolation happened.
  const SchemaViolation& last_violation() const { return violation_; }

  // The events.id value of the last accepted message ("" when not configured or absent).
  const std::string& last_id() const { return id_; }

 private:
  DropReason ExtractDeviceId(simdjson::ondemand::document& doc, std::string_view topic,
                             std::string* device_id);
  DropReason ExtractEventTime(simdjson::ondemand::document& doc, int64_t* event_time_ms);

  const EventsSection& events_;
  const uint64_t max_payload_bytes_;
  simdjson::ondemand::parser parser_;
  void ExtractId(simdjson::ondemand::document& doc);

  std::string padded_;  // payload copy with SIMDJSON_PADDING spare bytes, reused
  std::string id_;      // last events.id value
  SchemaValidator validator_;
  SchemaViolation violation_;
};

// The topic level `level` (0-based) of topic, or "" if it has fewer levels.
std::string_view TopicLevel(std::string_view topic, int level);

}  // namespace tidegate::filters
