// SPDX-License-Identifier: Apache-2.0
// SqliteStore's window revisions: a window result carries the full values of its window, so
// a later revision makes the unsent earlier ones dead weight (a receiver keeps the highest
// revision). Buffered, each revision took its own row: a window revised by every late slice
// of an outage filled a small buffer with copies and crowded out the raw events ranked below
// window results. After a commit, a new revision deletes the lower revisions of its window
// that are not in flight or just read, found through window_keys (a row per buffered window
// result, kept next to it, so raw events cost nothing).
//
// Not in the commit's own transaction: an earlier revision sits on the page its commit
// wrote, so a commit revising 50 windows last revised at 50 different times would dirty 50
// old pages and grow the WAL past what StoreLimits reserves for a commit (317 KB against
// 192 KB at max_bytes 1 MiB, store_revisions_test). The deletes run in transactions of at
// most delete_chunk_bytes of pages, each followed by the checkpoint check, like Ack's chunks.
// A crash between the commit and these deletes leaves extra revisions, which is harmless.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "buffer/schema.h"
#include "buffer/sqlite_store.h"
#include "common/window_result.h"

namespace tidegate::buffer {

// schema.h's migrations name window results by this value.
static_assert(static_cast<int>(RecordKind::kWindowResult) == 1);

Status SqliteStore::PrepareRevisionStatements() {
  sqlite3* w = write_db_.get();
  TG_ASSIGN_OR_RETURN(revisions_of_window_, Stmt::Prepare(w, sql::kRevisionsOfWindow));
  TG_ASSIGN_OR_RETURN(insert_window_key_, Stmt::Prepare(w, sql::kInsertWindowKey));
  TG_ASSIGN_OR_RETURN(delete_window_key_, Stmt::Prepare(w, sql::kDeleteWindowKey));
  TG_ASSIGN_OR_RETURN(delete_window_key_range_, Stmt::Prepare(w, sql::kDeleteWindowKeyRange));
  return Status::Ok();
}

Status SqliteStore::WriteWindowKey(uint64_t seq, const Event& result) {
  return insert_window_key_.Bind(1, static_cast<int64_t>(seq))
      .Bind(2, int64_t{result.priority})
      .Bind(3, result.topic)
      .Bind(4, result.device_id)
      .Bind(5, result.event_time_ms)
      .Run();
}

// One seek on window_keys' primary key: nothing to do costs about a microsecond per range.
Status SqliteStore::DeleteWindowKeys(const BatchRange& range, uint64_t first_seq,
                                     uint64_t last_seq) {
  return delete_window_key_range_.Bind(1, int64_t{range.priority})
      .Bind(2, static_cast<int64_t>(first_seq))
      .Bind(3, static_cast<int64_t>(last_seq))
      .Run();
}

Status SqliteStore::DeleteWindowKey(int64_t seq) { return delete_window_key_.Bind(1, seq).Run(); }

size_t SqliteStore::SupersedeChunkRows() const {
  if (limits_.delete_chunk_bytes == 0) return std::numeric_limits<size_t>::max();
  return static_cast<size_t>(std::max<uint64_t>(1, limits_.delete_chunk_bytes / page_size_));
}

// Only a strictly lower revision is replaced: exactly what a receiver that keeps the highest
// revision would overwrite anyway. The aggregator's revisions of a window only grow
// (checkpointed with the results; a purged window never reopens), but a reconfigured
// aggregation starts again at revision 0, and its first results must not delete what the old
// configuration counted. A record whose header does not decode is left alone.
Status SqliteStore::FindSuperseded(const Event& result,
                                   std::vector<std::pair<int64_t, int64_t>>* victims) {
  const Result<uint32_t> revision = WindowResultRevision(result.payload);
  if (!revision.ok() || *revision == 0) return Status::Ok();
  revisions_of_window_.Bind(1, result.topic)
      .Bind(2, result.device_id)
      .Bind(3, result.event_time_ms);
  while (true) {
    Result<bool> row = revisions_of_window_.Step();
    if (!row.ok()) {
      revisions_of_window_.Reset();
      return row.status();
    }
    if (!*row) break;
    if (revisions_of_window_.IsNull(1)) {
      victims->emplace_back(revisions_of_window_.Int(0), -1);
      continue;
    }
    const Result<uint32_t> buffered = WindowResultRevision(revisions_of_window_.Text(3));
    if (buffered.ok() && *buffered < *revision) {
      victims->emplace_back(revisions_of_window_.Int(0), revisions_of_window_.Int(2));
    }
  }
  revisions_of_window_.Reset();
  return Status::Ok();
}

// Deletes the victims not protected now (ReadNext may have taken some since they were
// found), and the keys of those and of stale ones. REQUIRES: protect_mu_ held.
Status SqliteStore::DeleteUnprotected(const std::pair<int64_t, int64_t>* victims, size_t n,
                                      Deltas& d) {
  int64_t deleted = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto [seq, priority] = victims[i];
    if (priority >= 0) {
      if (Protected(priority, static_cast<uint64_t>(seq))) continue;
      TG_RETURN_IF_ERROR(delete_record_.Bind(1, sql::RecordId(priority, seq)).Run());
      deleted += sqlite3_changes(write_db_.get());
    }
    TG_RETURN_IF_ERROR(DeleteWindowKey(seq));
  }
  if (deleted == 0) return Status::Ok();
  d.records -= deleted;
  d.drops["window_results_superseded"] += deleted;
  TG_RETURN_IF_ERROR(WriteDeltas(d));
  // Like a drop: a batch ReadNext read before this commit may have lost rows (it rereads).
  ++drop_generation_;
  return Status::Ok();
}

// One transaction of DeleteUnprotected, then the checkpoint check.
Status SqliteStore::DeleteSuperseded(const std::pair<int64_t, int64_t>* victims, size_t n) {
  sqlite3* db = write_db_.get();
  TG_RETURN_IF_ERROR(BeginWrite("begin supersede"));
  Deltas d;
  std::unique_lock<std::mutex> protect(protect_mu_);
  Status status = DeleteUnprotected(victims, n, d);
  if (status.ok()) status = Exec(db, "COMMIT", "commit supersede");
  if (!status.ok()) {
    (void)Exec(db, "ROLLBACK", "rollback supersede");
    return status;
  }
  protect.unlock();
  ApplyDeltas(d);
  AfterCommit();
  return Status::Ok();
}

void SqliteStore::SupersedeRevisions(const std::vector<Event>& records) {
  std::vector<std::pair<int64_t, int64_t>> victims;  // (seq, priority)
  Status status;
  for (const Event& e : records) {
    if (e.kind != RecordKind::kWindowResult || !e.store) continue;
    status = FindSuperseded(e, &victims);
    if (!status.ok()) break;
  }
  // A window revised twice in one commit lists its earlier rows twice.
  std::sort(victims.begin(), victims.end());
  victims.erase(std::unique(victims.begin(), victims.end()), victims.end());
  const size_t chunk = SupersedeChunkRows();
  for (size_t at = 0; status.ok() && at < victims.size(); at += chunk) {
    status = DeleteSuperseded(victims.data() + at, std::min(chunk, victims.size() - at));
  }
  if (!status.ok()) {
    spdlog::warn("buffer: superseded window revisions left in place: {}", status.ToString());
  }
}

}  // namespace tidegate::buffer
