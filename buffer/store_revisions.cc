// SPDX-License-Identifier: Apache-2.0
// SqliteStore's window revisions: a window result carries the full values of its window, so
// a later revision makes the unsent earlier ones dead weight (a receiver keeps the highest
// revision). Buffered, each revision took its own row: a window revised by every late slice
// of an outage filled a small buffer with copies and crowded out the raw events ranked below
// window results. A new revision now deletes the lower revisions of its window that are not
// in flight or just read.
#include "buffer/schema.h"
#include "buffer/sqlite_store.h"
#include "common/window_result.h"

namespace tidegate::buffer {

// kRevisionsOfWindow and window_results_by_key name window results by this value.
static_assert(static_cast<int>(RecordKind::kWindowResult) == 1);

Status SqliteStore::PrepareRevisionStatements() {
  TG_ASSIGN_OR_RETURN(revisions_of_window_,
                      Stmt::Prepare(write_db_.get(), sql::kRevisionsOfWindow));
  return Status::Ok();
}

// Only a strictly lower revision is replaced: exactly what a receiver that keeps the highest
// revision would overwrite anyway. The aggregator's revisions of a window only grow
// (checkpointed with the results; a purged window never reopens), but a reconfigured
// aggregation starts again at revision 0, and its first results must not delete what the old
// configuration counted. A record whose header does not decode is left alone.
Status SqliteStore::SupersedeRevisions(const std::vector<Event>& records, Deltas& d) {
  std::vector<int64_t> superseded;
  int64_t deleted = 0;
  for (const Event& e : records) {
    if (e.kind != RecordKind::kWindowResult || !e.store) continue;
    const Result<uint32_t> revision = WindowResultRevision(e.payload);
    if (!revision.ok() || *revision == 0) continue;
    revisions_of_window_.Bind(1, e.topic).Bind(2, e.device_id).Bind(3, e.event_time_ms);
    while (true) {
      Result<bool> row = revisions_of_window_.Step();
      if (!row.ok()) {
        revisions_of_window_.Reset();
        return row.status();
      }
      if (!*row) break;
      const int64_t seq = revisions_of_window_.Int(0);
      const Result<uint32_t> buffered = WindowResultRevision(revisions_of_window_.Text(2));
      if (buffered.ok() && *buffered < *revision &&
          !Protected(revisions_of_window_.Int(1), static_cast<uint64_t>(seq))) {
        superseded.push_back(seq);
      }
    }
    revisions_of_window_.Reset();
    // Deleted before the next lookup: a window revised twice in one commit is not listed twice.
    for (int64_t seq : superseded) TG_RETURN_IF_ERROR(delete_seq_.Bind(1, seq).Run());
    deleted += static_cast<int64_t>(superseded.size());
    superseded.clear();
  }
  if (deleted == 0) return Status::Ok();
  d.records -= deleted;
  d.drops["window_results_superseded"] += deleted;
  // Like a drop: a batch ReadNext read before this commit may have lost rows (it rereads).
  ++drop_generation_;
  return Status::Ok();
}

}  // namespace tidegate::buffer
