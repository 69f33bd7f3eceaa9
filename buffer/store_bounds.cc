// SPDX-License-Identifier: Apache-2.0
// SqliteStore's bounds: the size and count policy (drop_oldest or block), max_age expiry,
// the dedup key bound and the writer's own WAL checkpoints. See store_limits.h for how
// max_bytes is split. Everything here runs with write_mu_ held.
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <limits>
#include <utility>

#include "buffer/dedup_chunk.h"
#include "buffer/schema.h"
#include "buffer/sqlite_store.h"
#include "common/sat_time.h"

namespace tidegate::buffer {
namespace {

constexpr int64_t kScanChunk = 512;
constexpr uint64_t kMinDropRows = 16;
constexpr int kMaxDropRounds = 100'000;  // each drops at least one row; a safety stop
constexpr int kBusyTimeoutMs = 10'000;   // the connections' normal busy timeout

std::string DropCounterName(RecordKind kind, const char* reason) {
  return std::string(kind == RecordKind::kEvent ? "dropped." : "dropped_window_results.") + reason;
}

}  // namespace

Status SqliteStore::PrepareBoundStatements() {
  sqlite3* w = write_db_.get();
  TG_ASSIGN_OR_RETURN(next_priority_, Stmt::Prepare(w, sql::kNextPriority));
  TG_ASSIGN_OR_RETURN(scan_priority_, Stmt::Prepare(w, sql::kScanPriority));
  TG_ASSIGN_OR_RETURN(delete_record_, Stmt::Prepare(w, sql::kDeleteRecord));
  TG_ASSIGN_OR_RETURN(dedup_oldest_first_, Stmt::Prepare(w, sql::kDedupChunksOldestFirst));
  TG_ASSIGN_OR_RETURN(delete_dedup_through_, Stmt::Prepare(w, sql::kDeleteDedupChunksThrough));
  TG_ASSIGN_OR_RETURN(get_dedup_chunk_, Stmt::Prepare(w, sql::kGetDedupChunk));
  TG_ASSIGN_OR_RETURN(set_dedup_chunk_, Stmt::Prepare(w, sql::kSetDedupChunk));
  TG_ASSIGN_OR_RETURN(page_count_, Stmt::Prepare(w, "PRAGMA page_count"));
  TG_ASSIGN_OR_RETURN(freelist_count_, Stmt::Prepare(w, "PRAGMA freelist_count"));
  return Status::Ok();
}

Result<uint64_t> SqliteStore::UsedBytes() {
  TG_ASSIGN_OR_RETURN(bool row, page_count_.Step());
  int64_t pages = row ? page_count_.Int(0) : 0;
  page_count_.Reset();
  TG_ASSIGN_OR_RETURN(row, freelist_count_.Step());
  int64_t free_pages = row ? freelist_count_.Int(0) : 0;
  freelist_count_.Reset();
  return static_cast<uint64_t>(std::max<int64_t>(0, pages - free_pages)) * page_size_;
}

bool SqliteStore::Protected(int64_t priority, uint64_t seq) const {
  auto covers = [&](const BatchRange& r) {
    return r.count > 0 && r.priority == priority && seq >= r.first_seq && seq <= r.last_seq;
  };
  if (covers(reserved_)) return true;
  for (const BatchRange& r : protected_) {
    if (covers(r)) return true;
  }
  return false;
}

Result<bool> SqliteStore::NextPriority(int64_t* priority) {
  next_priority_.Bind(1, *priority);
  Result<bool> row = next_priority_.Step();
  bool more = row.ok() && *row && !next_priority_.IsNull(0);
  if (more) *priority = next_priority_.Int(0);
  next_priority_.Reset();
  if (!row.ok()) return row.status();
  return more;
}

// Deletes up to `want` records of `kind`, lowest priority first and oldest first within a
// priority, skipping protected ranges. REQUIRES: protect_mu_ held until the commit.
Result<int64_t> SqliteStore::ScanChunk(int64_t priority, int64_t* after, const ScanVisitor& visit) {
  scan_priority_.Bind(1, priority).Bind(2, *after).Bind(3, kScanChunk);
  int64_t scanned = 0;
  bool more = true;
  while (more) {
    Result<bool> next = scan_priority_.Step();
    if (!next.ok()) {
      scan_priority_.Reset();
      return next.status();
    }
    if (!*next) break;
    ++scanned;
    *after = scan_priority_.Int(0);
    more = visit(*after, scan_priority_.Int(1), scan_priority_.Int(2));
  }
  scan_priority_.Reset();
  return scanned;
}

Status SqliteStore::DeleteVictims(const std::vector<int64_t>& victims, const std::string& counter,
                                  Deltas& d) {
  for (int64_t id : victims) TG_RETURN_IF_ERROR(delete_record_.Bind(1, id).Run());
  d.records -= static_cast<int64_t>(victims.size());
  if (!victims.empty()) d.drops[counter] += static_cast<int64_t>(victims.size());
  return Status::Ok();
}

// What a buffered record takes in the database on average (at least 64 bytes).
uint64_t SqliteStore::BytesPerRow(uint64_t used_bytes, const Deltas& d) const {
  const int64_t rows = std::max<int64_t>(1, records_.load() + d.records);
  return std::max<uint64_t>(64, used_bytes / static_cast<uint64_t>(rows));
}

bool SqliteStore::DropPages::Spend(int64_t seq, RecordKind kind) {
  uint64_t cost = last_seq < 0
                      ? rows_per_page
                      : std::min<uint64_t>(static_cast<uint64_t>(seq - last_seq), rows_per_page);
  if (kind == RecordKind::kWindowResult) cost += rows_per_page;
  if (cost > left) {
    spent = true;
    return false;
  }
  left -= cost;
  last_seq = seq;
  return true;
}

void SqliteStore::DropPages::Enter(int64_t next_priority) {
  if (next_priority == priority) return;
  priority = next_priority;  // another priority's rows start on another page
  last_seq = -1;
}

// delete_chunk_bytes of pages, and at least two: the first victim always fits.
Result<SqliteStore::DropPages> SqliteStore::DropPageBudget(const Deltas& d) {
  DropPages pages;
  if (limits_.delete_chunk_bytes == 0) return pages;
  TG_ASSIGN_OR_RETURN(uint64_t used, UsedBytes());
  pages.rows_per_page = std::max<uint64_t>(1, page_size_ / BytesPerRow(used, d));
  pages.left = pages.rows_per_page * std::max<uint64_t>(2, limits_.delete_chunk_bytes / page_size_);
  return pages;
}

Status SqliteStore::DropVictims(RecordKind kind, uint64_t want, const char* reason, Deltas& d,
                                DropPages& pages, uint64_t* dropped) {
  std::vector<int64_t> victims;
  int64_t priority = std::numeric_limits<int64_t>::min();
  auto collect = [&](int64_t seq, int64_t row_kind, int64_t /*age_ms*/) {
    if (row_kind == static_cast<int64_t>(kind) &&
        !Protected(priority, static_cast<uint64_t>(seq))) {
      if (!pages.Spend(seq, kind)) return false;
      victims.push_back(sql::RecordId(priority, seq));
    }
    return victims.size() < want;
  };
  while (victims.size() < want && !pages.spent) {
    TG_ASSIGN_OR_RETURN(bool more, NextPriority(&priority));
    if (!more) break;
    pages.Enter(priority);
    int64_t after = 0;
    int64_t scanned = kScanChunk;
    while (victims.size() < want && !pages.spent && scanned == kScanChunk) {
      TG_ASSIGN_OR_RETURN(scanned, ScanChunk(priority, &after, collect));
    }
  }
  TG_RETURN_IF_ERROR(DeleteVictims(victims, DropCounterName(kind, reason), d));
  if (kind == RecordKind::kWindowResult) {
    for (int64_t id : victims) TG_RETURN_IF_ERROR(DeleteWindowKey(sql::SeqOfRecord(id)));
  }
  *dropped = victims.size();
  return Status::Ok();
}

Status SqliteStore::EnforceBounds(Deltas& d, DropPages& pages, bool* over_budget) {
  ++drop_generation_;
  *over_budget = false;
  uint64_t dropped = 0;
  DropPages unbounded;  // max_events drops as many rows as the commit added
  if (options_.max_events > 0) {
    int64_t over = records_.load() + d.records - static_cast<int64_t>(options_.max_events);
    if (over > 0) {
      TG_RETURN_IF_ERROR(DropVictims(RecordKind::kEvent, static_cast<uint64_t>(over), "max_events",
                                     d, unbounded, &dropped));
      over -= static_cast<int64_t>(dropped);
    }
    if (over > 0) {
      TG_RETURN_IF_ERROR(DropVictims(RecordKind::kWindowResult, static_cast<uint64_t>(over),
                                     "max_events", d, unbounded, &dropped));
    }
  }
  if (limits_.data_bytes == 0) return Status::Ok();
  for (int round = 0; round < kMaxDropRounds; ++round) {
    TG_ASSIGN_OR_RETURN(uint64_t used, UsedBytes());
    if (used <= limits_.data_bytes) return Status::Ok();
    if (pages.spent) {
      *over_budget = true;  // an expiry in this transaction spent its pages
      return Status::Ok();
    }
    uint64_t want = std::max(kMinDropRows, (used - limits_.data_bytes) / BytesPerRow(used, d) + 1);
    TG_RETURN_IF_ERROR(DropVictims(RecordKind::kEvent, want, "buffer_full", d, pages, &dropped));
    if (dropped == 0 && !pages.spent) {
      TG_RETURN_IF_ERROR(
          DropVictims(RecordKind::kWindowResult, want, "buffer_full", d, pages, &dropped));
    }
    if (pages.spent) {
      *over_budget = true;  // this transaction's pages are spent: DeleteInChunks goes on
      return Status::Ok();
    }
    if (dropped == 0) {
      // Only protected rows (in-flight batches), dedup keys (at most a quarter of the
      // budget) and window state are left: nothing more to drop.
      return Status::Ok();
    }
  }
  return Status::Ok();
}

// Deletes raw events whose age stamp is before age_ms - max_age, in arrival order per
// priority (a priority's scan stops at its first younger event), except protected ranges,
// until `pages` is spent: then *owed is set and DeleteInChunks goes on after the commit.
// The age line never jumps (AgeClock), so a wall-clock step expires nothing by itself.
// REQUIRES: protect_mu_ held until the transaction ends.
Status SqliteStore::ExpireMaxAge(int64_t age_ms, Deltas& d, DropPages& pages, bool* owed) {
  *owed = false;
  if (options_.max_age.count() <= 0) return Status::Ok();
  const int64_t cutoff = SatSub(age_ms, options_.max_age.count());
  ++drop_generation_;
  std::vector<int64_t> victims;
  int64_t priority = std::numeric_limits<int64_t>::min();
  bool young = false;  // the scan of this priority reached an event younger than cutoff
  auto collect_expired = [&](int64_t seq, int64_t kind, int64_t row_age_ms) {
    if (kind != static_cast<int64_t>(RecordKind::kEvent)) return true;
    if (Protected(priority, static_cast<uint64_t>(seq))) return true;
    if (row_age_ms >= cutoff) {
      young = true;
      return false;
    }
    if (!pages.Spend(seq, RecordKind::kEvent)) return false;
    victims.push_back(sql::RecordId(priority, seq));
    return true;
  };
  while (!pages.spent) {
    TG_ASSIGN_OR_RETURN(bool more, NextPriority(&priority));
    if (!more) break;
    pages.Enter(priority);
    int64_t after = 0;
    young = false;
    while (!young && !pages.spent) {
      TG_ASSIGN_OR_RETURN(int64_t scanned, ScanChunk(priority, &after, collect_expired));
      if (scanned < kScanChunk) break;
    }
  }
  *owed = pages.spent;
  return DeleteVictims(victims, "dropped.max_age", d);
}

// Deletes the dedup_chunks rows whose keys have all expired and then, while more than
// max_dedup_keys are left, the oldest keys down to a tenth below it (so this runs once per
// many commits). Rows are visited oldest first and expiry stops at the first row still live:
// with a constant dedup.window that is every expired row (after a shorter window is configured
// a newer row can wait behind an older one; loading skips its expired keys).
Status SqliteStore::BoundDedupKeys(int64_t age_ms, Deltas& d) {
  const auto cap = static_cast<int64_t>(limits_.max_dedup_keys);
  int64_t rows = dedup_rows_;  // keys left once the rows visited so far are deleted
  int64_t keep = -1;           // the keys to keep, decided at the first live row
  int64_t trimmed = 0;
  int64_t through = -1;  // the newest row to delete whole
  int64_t cut = -1;      // the row to cut down to its newest keys, and its count
  int64_t cut_count = 0;
  while (true) {
    TG_ASSIGN_OR_RETURN(bool row, dedup_oldest_first_.Step());
    if (!row) break;
    const int64_t id = dedup_oldest_first_.Int(0);
    const bool live = dedup_oldest_first_.Int(1) > age_ms;
    const int64_t count = dedup_oldest_first_.Int(2);
    if (live && keep < 0) keep = cap <= 0 || rows <= cap ? rows : cap - cap / 10;
    if (live && rows - count < keep) {
      if (rows > keep) {
        cut = id;
        cut_count = count;
      }
      break;
    }
    if (live) trimmed += count;
    rows -= count;
    through = id;
  }
  dedup_oldest_first_.Reset();
  if (through >= 0) TG_RETURN_IF_ERROR(delete_dedup_through_.Bind(1, through).Run());
  if (cut >= 0) TG_RETURN_IF_ERROR(CutDedupChunk(cut, cut_count, rows - keep, &rows, &trimmed));
  dedup_rows_ = rows;
  if (trimmed > 0) d.drops["dedup_keys_trimmed"] += trimmed;
  return Status::Ok();
}

// Drops the oldest `drop` of row id's `count` keys (REQUIRES: drop < count). A row whose keys
// do not match its count is damaged and deleted whole.
Status SqliteStore::CutDedupChunk(int64_t id, int64_t count, int64_t drop, int64_t* rows,
                                  int64_t* trimmed) {
  get_dedup_chunk_.Bind(1, id);
  Result<bool> found = get_dedup_chunk_.Step();
  std::string chunk;
  if (found.ok() && *found) chunk.assign(get_dedup_chunk_.Text(0));
  get_dedup_chunk_.Reset();
  if (!found.ok()) return found.status();
  Result<size_t> entries = DedupEntryCount(chunk);
  if (!entries.ok() || static_cast<int64_t>(*entries) != count) {
    // "through id" deletes this row alone: BoundDedupKeys deleted every older one already.
    TG_RETURN_IF_ERROR(delete_dedup_through_.Bind(1, id).Run());
    *rows -= count;
    *trimmed += count;
    return Status::Ok();
  }
  chunk.erase(0, static_cast<size_t>(drop) * kDedupEntryBytes);
  int64_t last = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < *entries - static_cast<size_t>(drop); ++i) {
    last = std::max(last, DedupEntryExpires(chunk, i));
  }
  set_dedup_chunk_.Bind(1, id).Bind(2, last).Bind(3, count - drop).BindBlob(4, chunk);
  TG_RETURN_IF_ERROR(set_dedup_chunk_.Run());
  *rows -= drop;
  *trimmed += drop;
  return Status::Ok();
}

// Records the age line in meta.age_ms (in the caller's transaction), so a restart continues it.
Status SqliteStore::PersistAge(int64_t age_ms) {
  TG_RETURN_IF_ERROR(set_meta_.Bind(1, std::string_view("age_ms")).Bind(2, age_ms).Run());
  last_age_persist_ms_ = age_ms;
  return Status::Ok();
}

Status SqliteStore::WriteDeltas(const Deltas& d) {
  for (const auto& [name, delta] : d.drops) {
    TG_RETURN_IF_ERROR(add_counter_.Bind(1, name).Bind(2, delta).Run());
  }
  return PersistRecords(d.records);
}

Status SqliteStore::PersistRecords(int64_t delta) {
  if (delta == 0) return Status::Ok();
  return set_meta_.Bind(1, std::string_view("records")).Bind(2, records_.load() + delta).Run();
}

void SqliteStore::ApplyDeltas(const Deltas& d) {
  records_.fetch_add(d.records);
  for (const auto& [name, delta] : d.drops) {
    if (name.rfind("dropped", 0) == 0) {
      spdlog::debug("buffer: {} {} records", name, delta);
    }
  }
}

void SqliteStore::CheckpointIfDue(int busy_ms) {
  if (static_cast<uint64_t>(wal_frames_) * page_size_ < limits_.wal_checkpoint_bytes) return;
  sqlite3* db = write_db_.get();
  auto start = std::chrono::steady_clock::now();
  sqlite3_busy_timeout(db, busy_ms);
  int log = 0, done = 0;
  // RESTART, not TRUNCATE: the next commits write over the WAL file from its start, where a
  // truncated file must be grown again block by block (the filesystem allocates and zeroes
  // each one: a fifth of the drain's acknowledgement time). journal_size_limit (the same
  // threshold, SetWalSizeLimit) still cuts the file back when a WAL grew past it.
  int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, &log, &done);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  checkpoint_durations_.Observe(std::chrono::steady_clock::now() - start);
  checkpoints_++;
  spdlog::debug("buffer: checkpoint of {} WAL frames: {}", wal_frames_, sqlite3_errstr(rc));
  if (rc == SQLITE_OK) {
    wal_frames_ = 0;
    return;
  }
  // A reader kept its snapshot (retried after the next commit) or the disk is full.
  checkpoint_failures_++;
  spdlog::warn("buffer: WAL checkpoint incomplete ({} of {} frames): {}", done, log,
               sqlite3_errstr(rc));
}

Status SqliteStore::SetWalSizeLimit(const StoreLimits& limits) {
  return Exec(write_db_.get(),
              "PRAGMA journal_size_limit=" + std::to_string(limits.wal_checkpoint_bytes),
              "configure " + path_);
}

Status SqliteStore::SetBounds(const StoreOptions& bounds) {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    const StoreLimits limits = StoreLimits::For(bounds.max_bytes);
    TG_RETURN_IF_ERROR(SetWalSizeLimit(limits));
    options_.max_bytes = bounds.max_bytes;
    options_.max_events = bounds.max_events;
    options_.max_age = bounds.max_age;
    options_.when_full = bounds.when_full;
    limits_ = limits;
    MirrorBounds();
    max_bytes_ = bounds.max_bytes;
    // UpdateFull only tracks the block policy: leaving it must not leave ingest paused.
    if (options_.when_full != WhenFull::kBlock && full_) {
      full_ = false;
      spdlog::info("buffer: when_full is now drop_oldest, resuming ingest");
      if (full_callback_) full_callback_(false);
    }
    UpdateFull();
    // The empty commit below enforces drop_oldest's bounds and max_age now, not at the next
    // event (max_age is checked at most every kMaintainIntervalMs: made due).
    last_maintain_ms_ = std::numeric_limits<int64_t>::min() / 2;
  }
  // The bounds are set either way: a commit that fails now (disk full) enforces them later.
  if (Status enforced = Append({}, {}, {}); !enforced.ok()) {
    spdlog::warn("buffer: new bounds set, enforced at the next commit: {}", enforced.ToString());
  }
  return Status::Ok();
}

void SqliteStore::UpdateFull() {
  auto used = UsedBytes();
  if (!used.ok()) return;
  used_bytes_ = *used;
  if (options_.when_full != WhenFull::kBlock) return;
  const int64_t records = records_.load();
  const auto max_events = static_cast<int64_t>(options_.max_events);
  bool high = (limits_.data_bytes > 0 && *used >= limits_.data_bytes) ||
              (max_events > 0 && records >= max_events);
  bool low = (limits_.data_bytes == 0 || *used <= limits_.resume_bytes) &&
             (max_events == 0 || records <= max_events - max_events / 10);
  if (!full_ && high) {
    full_ = true;
    spdlog::warn("buffer full ({} bytes used, {} records): pausing ingest until acks free space",
                 *used, records);
    if (full_callback_) full_callback_(true);
  } else if (full_ && low) {
    full_ = false;
    spdlog::info("buffer below its low mark ({} bytes used, {} records): resuming ingest", *used,
                 records);
    if (full_callback_) full_callback_(false);
  }
}

void SqliteStore::AfterCommit() {
  CheckpointIfDue();
  UpdateFull();
}

// The WAL only holds its bound if each transaction starts below the checkpoint threshold.
// When the quick checkpoint after the last commit did not complete (a reader kept its
// snapshot: a slow read under load, a `tidegate buffer` command), it is retried here with
// the connections' normal busy timeout: the writer waits for the readers, which is
// backpressure, instead of writing past what StoreLimits reserves for the WAL.
void SqliteStore::SettleWal() { CheckpointIfDue(kBusyTimeoutMs); }

Status SqliteStore::BeginWrite(std::string_view what) {
  SettleWal();
  return Exec(write_db_.get(), "BEGIN IMMEDIATE", what);
}

// One transaction of DeleteInChunks, committed. REQUIRES: a write transaction begun,
// protect_mu_ held.
Status SqliteStore::DeleteChunk(Deltas& d, bool* expiry_over, bool* drops_over) {
  TG_ASSIGN_OR_RETURN(DropPages pages, DropPageBudget(d));
  if (expiry_owed_) {
    TG_RETURN_IF_ERROR(ExpireMaxAge(age_clock_->Now().age_ms, d, pages, expiry_over));
  }
  if (drops_owed_) TG_RETURN_IF_ERROR(EnforceBounds(d, pages, drops_over));
  TG_RETURN_IF_ERROR(WriteDeltas(d));
  return Exec(write_db_.get(), "COMMIT", "commit delete chunk");
}

void SqliteStore::DeleteInChunks() {
  for (int chunk = 0; (expiry_owed_ || drops_owed_) && chunk < kMaxDropRounds; ++chunk) {
    Deltas d;
    bool expiry_over = false, drops_over = drops_owed_;
    Status status = BeginWrite("begin delete chunk");
    std::unique_lock<std::mutex> protect(protect_mu_);
    if (status.ok()) status = DeleteChunk(d, &expiry_over, &drops_over);
    if (!status.ok()) {
      (void)Exec(write_db_.get(), "ROLLBACK", "rollback delete chunk");
      spdlog::warn("buffer: expiring or dropping down to the bounds continues later: {}",
                   status.ToString());
      return;
    }
    protect.unlock();
    ApplyDeltas(d);
    expiry_owed_ = expiry_over;
    drops_owed_ = drops_over;
    AfterCommit();
  }
}

bool SqliteStore::SetFullCallback(std::function<void(bool)> callback) {
  std::lock_guard<std::mutex> lock(write_mu_);
  full_callback_ = std::move(callback);
  return full_;
}

Status SqliteStore::Maintain() {
  std::lock_guard<std::mutex> lock(write_mu_);
  const int64_t now = age_clock_->Now().age_ms;
  if (now - last_maintain_ms_ < kMaintainIntervalMs) return Status::Ok();
  last_maintain_ms_ = now;
  sqlite3* db = write_db_.get();
  TG_RETURN_IF_ERROR(BeginWrite("begin maintenance"));
  Deltas d;
  const int64_t saved_dedup_rows = dedup_rows_;
  std::unique_lock<std::mutex> protect(protect_mu_);
  bool expiry_owed = false;
  Result<DropPages> pages = DropPageBudget(d);
  Status status = pages.status();
  if (status.ok()) status = ExpireMaxAge(now, d, *pages, &expiry_owed);
  if (status.ok()) status = BoundDedupKeys(now, d);
  if (status.ok() && now - last_age_persist_ms_ >= kAgePersistIntervalMs) {
    status = PersistAge(now);
  }
  if (status.ok()) status = WriteDeltas(d);
  if (status.ok()) status = Exec(db, "COMMIT", "commit maintenance");
  if (!status.ok()) {
    (void)Exec(db, "ROLLBACK", "rollback maintenance");
    dedup_rows_ = saved_dedup_rows;
    return status;
  }
  protect.unlock();
  ApplyDeltas(d);
  expiry_owed_ = expiry_owed;
  AfterCommit();
  DeleteInChunks();
  return Status::Ok();
}

Result<int64_t> SqliteStore::PragmaInt(std::string_view name) {
  std::lock_guard<std::mutex> lock(write_mu_);
  TG_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(write_db_.get(), "PRAGMA " + std::string(name)));
  TG_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return NotFound("PRAGMA " + std::string(name) + " returned nothing");
  return stmt.Int(0);
}

Status SqliteStore::SetMaxPageCount(uint64_t pages) {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::string sql = "PRAGMA max_page_count=" + std::to_string(pages == 0 ? 0xfffffffe : pages);
  TG_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(write_db_.get(), sql));
  return stmt.Step().status();
}

void SqliteStore::SetCommitFault(std::function<bool()> fail) {
  std::lock_guard<std::mutex> lock(write_mu_);
  commit_fault_ = std::move(fail);
  // The hook runs inside COMMIT, on the thread holding write_mu_: commit_fault_ is read there.
  auto hook = [](void* self) -> int {
    auto* store = static_cast<SqliteStore*>(self);
    return store->commit_fault_ && store->commit_fault_() ? 1 : 0;
  };
  sqlite3_commit_hook(write_db_.get(), commit_fault_ ? +hook : nullptr, this);
}

}  // namespace tidegate::buffer
