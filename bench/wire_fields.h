// SPDX-License-Identifier: Apache-2.0
// What each field of the events costs on the wire at best, for `wire_bytes --fields`: every
// field's values across one batch as a column of its own (an event field, or a payload member
// down to /user/email), compressed alone at the uplink's zstd level and at zstd's strongest.
// The sum of the strongest is a floor that no layout of these events compresses below with
// zstd; a token's or sealed value's bytes (base64url decoded) show what no compressor can
// shrink: a keyed hash and a ciphertext look random.
#pragma once

#include <vector>

#include "buffer/sqlite_store.h"

namespace tidegate::bench {

using Batch = std::vector<buffer::BufferedRecord>;

// Prints one row per field and their sums, in bytes per event, to stdout.
void PrintFieldColumns(const std::vector<Batch>& batches, int uplink_level);

}  // namespace tidegate::bench
