// SPDX-License-Identifier: Apache-2.0
// The aggregation that agg_checkpoint_fuzzer restores into and fuzz/seed_maker records its
// seeds with: one per-device tumbling minute with every measure (so every kind of checkpoint
// row and a quantile sketch appear), and the events both feed it.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/event.h"

namespace tidegate::fuzz {

inline constexpr int64_t kCheckpointNowMs = 1'764'000'000'000;  // 2025-11-24T16:00:00Z

inline Config CheckpointConfig() {
  Config config;
  AggregateSpec spec;
  spec.name = "temp_1m";
  spec.match = "devices/+/telemetry";
  spec.group_by = {"device_id"};
  spec.window_size = Millis(60'000);
  spec.window_slide = Millis(60'000);
  spec.measures = {{"count", {"count"}},
                   {"/temp", {"count", "sum", "min", "max", "avg", "last", "p50", "p95", "p99"}}};
  spec.max_out_of_order = Millis(5'000);
  spec.idle_timeout = Millis(30'000);
  spec.allowed_lateness = Millis(60'000);
  spec.late_events = LatePolicy::kUpdate;
  config.aggregates.push_back(spec);
  return config;
}

// A reading of device at kCheckpointNowMs + offset_ms.
inline Event CheckpointEvent(const std::string& device, int64_t offset_ms, double temp) {
  Event e;
  e.topic = "devices/" + device + "/telemetry";
  e.device_id = device;
  e.event_time_ms = kCheckpointNowMs + offset_ms;
  e.ingest_time_ms = e.event_time_ms;
  e.payload = R"({"temp":)" + std::to_string(temp) + "}";
  return e;
}

}  // namespace tidegate::fuzz
