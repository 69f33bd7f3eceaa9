// SPDX-License-Identifier: Apache-2.0
// When the uplink sends the records it has read for a new batch, and when it lets a fuller
// batch gather (uplink.batch.linger). A full batch (batch.max_events records, or no room
// in batch.max_bytes for another record as large as the largest read) goes at once
// whatever the linger; any other goes once its oldest record has waited linger. Pure,
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/config.h"

namespace tidegate::uplink {

struct BatchFill {
  size_t records = 0;
  uint64_t payload_bytes = 0;         // sum of the records' payload sizes
  uint64_t largest_record_bytes = 0;  // the largest payload among them
  int64_t oldest_age_ms = 0;          // age stamp of the oldest record (the age line)
};

// True if the batch should be sent at now_ms, on the age line (common/age_clock.h), which
// wall-clock steps do not move. Saturating: no linger, age stamp or clock value overflows
// the deadline.
bool ReadyToSend(const BatchFill& fill, const UplinkSection& config, int64_t now_ms);

}  // namespace tidegate::uplink
