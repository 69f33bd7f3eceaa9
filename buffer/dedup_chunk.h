// SPDX-License-Identifier: Apache-2.0
// The ingest dedup keys a commit records, kept as one dedup_chunks row (schema version 8)
// instead of a dedup_log row per key: a row per key cost about 0.9 us of SQLite per event on
// the writer thread (BM_BufferCommit: 3.1 -> 2.2 ms of CPU per 1,000 events), a row per
// commit costs a copy of 16 bytes.
//
// FORMAT (stored bytes, read back at every start): entries of 16 bytes, in the order the keys
// were recorded; each is the 64-bit key, then its 64-bit expiry on the age line
// (common/age_clock.h), both little endian. A key is never 0 (filters/dedup_key.h).
// COMPATIBILITY: chunks outlive upgrades; a change of layout needs a new schema version.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::buffer {

inline constexpr size_t kDedupEntryBytes = 16;

// Appends one entry to *chunk.
void AppendDedupEntry(uint64_t key, int64_t expires, std::string* chunk);

// The number of entries in chunk, or kCorruption when its length is not a whole number of
// entries.
Result<size_t> DedupEntryCount(std::string_view chunk);

// Calls fn(key, expires) for each entry, in order. Untrusted bytes (a damaged file): a length
// that is not a whole number of entries, or a key of 0, gives kCorruption before fn is called
// at all.
template <typename Fn>
Status ForEachDedupEntry(std::string_view chunk, Fn&& fn);

// The entry at index (REQUIRES: index < the chunk's entry count).
uint64_t DedupEntryKey(std::string_view chunk, size_t index);
int64_t DedupEntryExpires(std::string_view chunk, size_t index);

// Registers tg_dedup_chunk(key, expires), an aggregate that packs its rows into a chunk sorted
// by (expires, key), on db: the schema's version-8 step uses it to move dedup_log's rows.
Status RegisterDedupChunkFunction(sqlite3* db);

// --- implementation ---

Status CheckDedupChunk(std::string_view chunk);

template <typename Fn>
Status ForEachDedupEntry(std::string_view chunk, Fn&& fn) {
  TG_RETURN_IF_ERROR(CheckDedupChunk(chunk));
  const size_t n = chunk.size() / kDedupEntryBytes;
  for (size_t i = 0; i < n; ++i) fn(DedupEntryKey(chunk, i), DedupEntryExpires(chunk, i));
  return Status::Ok();
}

}  // namespace tidegate::buffer
