// SPDX-License-Identifier: Apache-2.0
// Event: one device event after parsing and the privacy filter, on its way to the buffer.
// Its payload is the filtered JSON text, so an Event never holds raw personal data (the raw
// MQTT bytes live only in the ingest callback). Plain value type; not shared across threads
// except by moving it into the buffer's staging area.
#pragma once

#include <cstdint>
#include <string>

namespace tidegate {

// Bits of Event::flags; the same values as tidegate.wire.EventFlag.
enum EventFlags : uint32_t {
  kEventFlagLate = 1u << 0,  // later than allowed_lateness, forwarded by side_output
};

// Window results are buffered above every topic priority (0-9): uploaded first, dropped last.
inline constexpr int kWindowResultPriority = 10;

// What a buffered record holds: a raw event or a window result (issue of aggregation).
enum class RecordKind : int { kEvent = 0, kWindowResult = 1 };

struct Event {
  std::string topic;
  std::string device_id;
  int64_t event_time_ms = 0;
  int64_t ingest_time_ms = 0;  // wall clock at ingest: jumps with a clock step (AgeClock)
  int64_t age_ms = 0;          // AgeClock age line at ingest, for max_age; 0: stamped at commit
  uint32_t flags = 0;
  int priority = 5;  // 0-9 from the topic's config
  RecordKind kind = RecordKind::kEvent;
  uint64_t key_epoch = 0;        // data-key epoch of encrypted values in payload, 0 if none
  uint64_t dedup_key = 0;        // ingest dedup hash, 0 if dedup is off
  int64_t dedup_expires_ms = 0;  // when the dedup key stops mattering
  bool store = true;             // false: aggregated only (forward_raw: false), not buffered
  // The payload schema the event passed (schemas[]); "" and 0 when its topic has none.
  std::string schema_name;
  int64_t schema_version = 0;
  std::string payload;  // JSON after privacy filtering (kEvent), encoded result otherwise
};

}  // namespace tidegate
