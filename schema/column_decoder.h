// SPDX-License-Identifier: Apache-2.0
// Reassembles the payloads of a schema_version 2 batch: for each schema block, every row's
// remainder payload gets its column values merged back in the order its Layout gives, so
// the result is byte for byte the payload the agent buffered. Used by DecodeBatch on a
// verified buffer; pure, thread-safe, and every block is treated as hostile.
#pragma once

#include <cstddef>

#include "common/status.h"
#include "schema/batch_view.h"

namespace tidegate::wire {
struct Batch;
}  // namespace tidegate::wire

namespace tidegate::schema {

// The reassembled payloads of one batch may total at most this many times the size of its
// FlatBuffer (plus 1 MiB): far above what the encoder makes (column keys are at most
// kMaxColumnKeyBytes), and a bound on what a hostile batch of shared strings can make.
inline constexpr size_t kMaxReassemblyFactor = 128;

// REQUIRES: in was verified, out->events holds its events decoded in order.
// Replaces each block row's payload with the whole payload and fills out->schema_blocks.
// Errors: kCorruption naming the block, row or column (never a value): a row outside the
// events or in two blocks, a column whose vectors do not match its rows or type, a layout
// that does not account for every member exactly once, a remainder that is not a compact
// JSON object, schema_blocks in a batch below schema_version 2, reassembled payloads past
// the bound above.
Status ReassembleSchemaBlocks(const wire::Batch& in, size_t flatbuffer_bytes, DecodedBatch* out);

}  // namespace tidegate::schema
