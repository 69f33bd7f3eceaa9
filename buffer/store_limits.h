// SPDX-License-Identifier: Apache-2.0
// StoreLimits: how buffer.max_bytes is split between the database's pages, the WAL and the
// headroom of the commit in progress, so that buffer.db + buffer.db-wal stay within
// max_bytes. The writer keeps used pages (page_count - freelist_count) at or below
// data_bytes after every commit (and the drop transactions that follow it); freed pages are
// reused, so the file only grows by what one commit adds before its drops, which
// commit_headroom_bytes covers. The writer checkpoints (RESTART: later commits write the WAL
// from its start) once the WAL passes wal_checkpoint_bytes, before the next write if the
// check after a commit could not (SettleWal), and journal_size_limit cuts the file back to
// that size, so the WAL holds at most that plus one transaction: transaction_wal_bytes.
// One more commit's headroom is margin. The -shm index (32 KiB per 4,096 WAL frames) is the
// documented overhead on top. Batches in flight are never dropped, so they may hold only an
// eighth of the budget (their records' estimated size in the database): the rest stays for
// what ranks above them. Plain values; thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>

namespace tidegate::buffer {

struct StoreLimits {
  uint64_t max_bytes = 0;              // buffer.max_bytes; 0 = unbounded (all below are 0)
  uint64_t data_bytes = 0;             // bound on used pages x page_size
  uint64_t wal_checkpoint_bytes = 0;   // the writer checkpoints the WAL past this
  uint64_t commit_headroom_bytes = 0;  // what one commit may add before its drops
  // The most one write transaction may add to the WAL: a commit's headroom for its records
  // and its drops (at most delete_chunk_bytes of pages), plus kTransactionFixedBytes.
  uint64_t transaction_wal_bytes = 0;
  // Pages the deletes of one transaction may dirty when their rows lie scattered over the
  // file (each such row dirties a page of its own): drop_oldest's drops, in the commit and
  // in the transactions after it (store_bounds.cc), and superseded window revisions
  // (store_revisions.cc). Half a commit's headroom; 0 = unbounded.
  uint64_t delete_chunk_bytes = 0;
  uint64_t staging_bytes = 0;   // GroupCommitter::max_staged_bytes to use with it
  uint64_t max_dedup_keys = 0;  // persisted dedup keys: a quarter of data_bytes at most
  // when_full block: ingest pauses at data_bytes (high mark) and resumes below this.
  uint64_t resume_bytes = 0;
  // What the records of batches in flight may take in the database (SqliteStore's
  // StoredBytes estimate); 0 = unbounded.
  uint64_t inflight_stored_bytes = 0;

  static constexpr uint64_t kKiB = 1024;
  static constexpr uint64_t kMiB = 1024 * kKiB;
  static constexpr uint64_t kMaxDedupKeys = 1'000'000;  // DedupIndex::kDefaultMaxKeys
  // A persisted dedup key: 16 bytes in its dedup_chunks row since schema version 8, 48 as a
  // dedup_log row before; the bound keeps the old figure, so it allows the same keys.
  static constexpr uint64_t kDedupKeyBytes = 48;
  static constexpr uint64_t kShmOverheadBytes = 32 * kKiB;
  // What a commit writes beyond its records' and drops' pages: page 1, meta, counters, and a
  // leaf and an interior page in each B-tree it touches at each place it touches it (events
  // per priority written or dropped from, and its index events_by_priority before schema
  // version 10; dedup_chunks at both ends; window_keys_by_window per group). Measured: up to
  // 22 pages with the index (buffer_test 'a full drop_oldest buffer*' -s); 32 leaves room for
  // a commit that touches more places.
  static constexpr uint64_t kTransactionFixedBytes = 128 * kKiB;  // 32 pages of 4 KiB

  // Records that batches in flight may hold under buffer.max_events (0 = unbounded): an
  // eighth, at least one.
  static uint64_t InflightRecords(uint64_t max_events) {
    return max_events == 0 ? 0 : std::max<uint64_t>(1, max_events / 8);
  }

  static StoreLimits For(uint64_t max_bytes) {
    StoreLimits l;
    l.max_bytes = max_bytes;
    if (max_bytes == 0) {
      l.staging_bytes = 8 * kMiB;
      l.wal_checkpoint_bytes = 4 * kMiB;  // SQLite's own default (1,000 pages)
      l.max_dedup_keys = kMaxDedupKeys;
      return l;
    }
    l.staging_bytes = std::clamp<uint64_t>(max_bytes / 64, 16 * kKiB, 2 * kMiB);
    // A commit of S staged payload bytes writes about 2S of pages (row headers, dedup keys,
    // partly filled pages; the priority index before schema version 10).
    l.commit_headroom_bytes = 4 * l.staging_bytes;
    l.delete_chunk_bytes = l.commit_headroom_bytes / 2;
    l.transaction_wal_bytes = l.commit_headroom_bytes + kTransactionFixedBytes;
    l.wal_checkpoint_bytes = std::clamp<uint64_t>(max_bytes / 32, 64 * kKiB, 8 * kMiB);
    // The database file: data_bytes plus one commit. The WAL: the checkpoint threshold plus
    // one transaction. And a commit's headroom of margin.
    uint64_t reserved =
        l.wal_checkpoint_bytes + l.transaction_wal_bytes + 2 * l.commit_headroom_bytes;
    l.data_bytes = max_bytes > reserved + 64 * kKiB ? max_bytes - reserved : 64 * kKiB;
    l.resume_bytes = l.data_bytes - l.data_bytes / 10;
    l.inflight_stored_bytes = l.data_bytes / 8;
    l.max_dedup_keys = std::min<uint64_t>(kMaxDedupKeys, l.data_bytes / 4 / kDedupKeyBytes);
    return l;
  }
};

}  // namespace tidegate::buffer
