// SPDX-License-Identifier: Apache-2.0
// RestoreDedupWindow: at start, loads the dedup keys still in the window from the buffer into
// the ingest pipeline's index, so a restart forgets no repeat.
#pragma once

#include "agent/ingest_pipeline.h"
#include "buffer/sqlite_store.h"
#include "common/status.h"

namespace tidegate::agent {

// Sizes the index once for every row, then hands the keys over in runs, which the index
// records with its table lookups prefetched (a million keys: one scan of dedup_chunks).
Status RestoreDedupWindow(buffer::SqliteStore& store, IngestPipeline& pipeline);

}  // namespace tidegate::agent
