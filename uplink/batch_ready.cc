// SPDX-License-Identifier: Apache-2.0
#include "uplink/batch_ready.h"

#include "common/sat_time.h"

namespace tidegate::uplink {

bool ReadyToSend(const BatchFill& fill, const UplinkSection& config, int64_t now_ms) {
  if (fill.records >= config.batch_max_events) return true;
  // ReadNext stops before the record that would pass max_bytes, so one that size or larger
  // could not join this batch: lingering would only delay it.
  const uint64_t room = fill.payload_bytes >= config.batch_max_bytes
                            ? 0
                            : config.batch_max_bytes - fill.payload_bytes;
  if (fill.largest_record_bytes > room) return true;
  return now_ms >= SatAdd(fill.oldest_age_ms, config.batch_linger.count());
}

}  // namespace tidegate::uplink
