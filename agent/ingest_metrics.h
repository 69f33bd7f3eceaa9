// SPDX-License-Identifier: Apache-2.0
// Counters of the ingest path, updated on the ingest thread and read by the metrics page.
// Plain atomics (relaxed): cheap on the hot path, approximately consistent when read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "filters/event_parser.h"

namespace tidegate::agent {

struct IngestMetrics {
  std::atomic<uint64_t> received{0};  // messages delivered by the broker
  std::atomic<uint64_t> ingested{0};  // staged for the buffer
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> duplicates{0};     // repeats within dedup.window, not stored
  std::atomic<uint64_t> dedup_evicted{0};  // keys forgotten early by the index's size cap
  std::array<std::atomic<uint64_t>, static_cast<size_t>(filters::DropReason::kCount)>
      dead_letters_by_reason{};
  std::atomic<uint64_t> blocked_ns{0};  // time the ingest thread waited for buffer space
};

}  // namespace tidegate::agent
