// SPDX-License-Identifier: Apache-2.0
#include "buffer/sqlite_store.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <utility>

#include "buffer/dedup_chunk.h"
#include "buffer/schema.h"
#include "common/clock.h"

namespace tidegate::buffer {
namespace {

namespace fs = std::filesystem;

// What a record takes in the database, estimated: its variable-length columns plus a row's
// fixed part (header, integers; and, until schema version 10, an entry in the priority index,
// which the estimate keeps as margin). kRangeStoredBytes says the same.
uint64_t StoredBytes(const Event& e) {
  constexpr uint64_t kRowOverheadBytes = 64;
  return e.payload.size() + e.topic.size() + e.device_id.size() + e.schema_name.size() +
         kRowOverheadBytes;
}

Result<DbHandle> OpenConnection(const std::string& path, SyncMode sync) {
  ConfigureSqliteProcess();
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 10'000);
  // secure_delete: a deleted record (acknowledged, dropped or past max_age) is overwritten,
  // not left in a free page, so retention holds in the file itself. Debian's SQLite has it
  // on by default; other builds do not, so it is asked for here.
  // cache_size 512 KiB instead of SQLite's 2 MiB, per connection: the writer appends at the
  // right edge of its B-trees and the uplink reads ranges in order, so few pages are reused;
  // the kernel's page cache holds the rest. Peak RSS -1.7 MB at 300,000 events, -3 MB in a
  // drain, with the same CPU per event (bench qos0 and drain1m, alternating A/B).
  std::string pragmas =
      "PRAGMA cache_size=-512; PRAGMA secure_delete=ON; PRAGMA journal_mode=WAL; "
      "PRAGMA synchronous=";
  pragmas += sync == SyncMode::kFull ? "FULL;" : "NORMAL;";
  TG_RETURN_IF_ERROR(Exec(raw, pragmas, "configure " + path));
  return db;
}

// The whole-file check reads every page of the database (about 0.4 ms per 1,000 buffered
// events with a warm page cache, far more from an SD card), which would put seconds between
// start and READY with a large backlog. So it runs only after a run that did not close the
// database: SQLite deletes the -wal file when the last connection closes, so a -wal file at
// open means a crash, kill -9 or power cut, the moments a lying disk can tear a page. After
// a clean stop, SQLite's own open checks remain: the header (SQLITE_NOTADB for a file that is
// no database) and the header's page count against the file's length (SQLITE_CORRUPT for a
// truncated file), both found by the first statement, which Migrate() runs.
bool PreviousRunClosedCleanly(const std::string& path) {
  std::error_code ec;
  return !fs::exists(path + "-wal", ec) && !ec;
}

Status QuickCheck(sqlite3* db, const std::string& path) {
  TG_ASSIGN_OR_RETURN(Stmt check, Stmt::Prepare(db, "PRAGMA quick_check"));
  TG_ASSIGN_OR_RETURN(bool row, check.Step());
  if (!row || check.Text(0) != "ok") {
    return Corruption("integrity check of " + path + " failed");
  }
  return Status::Ok();
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                 raw.size());
  hex.pop_back();
  return hex;
}

// Moves a broken database and its side files aside, keeping them for inspection.
Result<std::string> Quarantine(const std::string& path) {
  std::string target = path + ".corrupt-" + std::to_string(RealClock().NowUnixMs());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    if (!fs::exists(path + suffix, ec)) continue;
    fs::rename(path + suffix, target + suffix, ec);
    if (ec) return IOError("quarantine " + path + suffix + ": " + ec.message());
  }
  return target;
}

// Sets *r from a row of kSelectFromPriority or kSelectRange. Every field is set (those the
// table has no column for to their defaults), keeping only the buffers of its strings, so a
// reused record allocates nothing when the new values fit.
void SetRecord(const Stmt& stmt, BufferedRecord* r) {
  Event fresh;
  fresh.topic.swap(r->event.topic);
  fresh.device_id.swap(r->event.device_id);
  fresh.schema_name.swap(r->event.schema_name);
  fresh.payload.swap(r->event.payload);
  Event& e = r->event = std::move(fresh);
  r->seq = static_cast<uint64_t>(stmt.Int(0));
  e.priority = static_cast<int>(stmt.Int(1));
  e.kind = static_cast<RecordKind>(stmt.Int(2));
  e.event_time_ms = stmt.Int(3);
  e.ingest_time_ms = stmt.Int(4);
  e.topic.assign(stmt.Text(5));
  e.device_id.assign(stmt.Text(6));
  e.flags = static_cast<uint32_t>(stmt.Int(7));
  e.key_epoch = static_cast<uint64_t>(stmt.Int(8));
  e.payload.assign(stmt.Text(9));
  e.age_ms = stmt.Int(10);
  e.schema_name.assign(stmt.Text(11));
  e.schema_version = stmt.Int(12);
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const StoreOptions& options,
                                                       std::string* quarantined) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialize");
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) return IOError("create state_dir " + options.state_dir + ": " + ec.message());
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  Status status = store->Init(options);
  if (status.code() != StatusCode::kCorruption) {
    if (!status.ok()) return status;
    return store;
  }
  std::string path = store->path_;
  store.reset(new SqliteStore());
  TG_ASSIGN_OR_RETURN(std::string moved, Quarantine(path));
  spdlog::error("buffer database {} is corrupt ({}); moved to {} and starting empty", path,
                status.message(), moved);
  if (quarantined) *quarantined = moved;
  TG_RETURN_IF_ERROR(store->Init(options));
  store->quarantined_ = moved;
  // Persisted, so the alarm outlives this run's /metrics.
  TG_RETURN_IF_ERROR(store->Append({}, {}, {{"buffer.quarantined", 1}}));
  return store;
}

SqliteStore::~SqliteStore() = default;

Status SqliteStore::Init(const StoreOptions& options) {
  options_ = options;
  limits_ = StoreLimits::For(options.max_bytes);
  MirrorBounds();
  max_bytes_ = options.max_bytes;
  path_ = (fs::path(options.state_dir) / "buffer.db").string();
  const bool closed_cleanly = PreviousRunClosedCleanly(path_);
  TG_ASSIGN_OR_RETURN(write_db_, OpenConnection(path_, options.sync));
  if (!closed_cleanly) TG_RETURN_IF_ERROR(QuickCheck(write_db_.get(), path_));
  TG_RETURN_IF_ERROR(Migrate());
  TG_RETURN_IF_ERROR(LoadIdentity());
  TG_RETURN_IF_ERROR(StartAgeClock());
  TG_RETURN_IF_ERROR(LoadDedupHashKey());
  TG_ASSIGN_OR_RETURN(read_db_, OpenConnection(path_, options.sync));
  // The writer checkpoints itself (store_bounds.cc): the hook replaces SQLite's automatic
  // checkpoint and reports the WAL's length after each commit.
  sqlite3_wal_hook(
      write_db_.get(),
      [](void* self, sqlite3*, const char*, int frames) {
        auto* store = static_cast<SqliteStore*>(self);
        // frames counts from the last restart of the WAL, which follows a checkpoint that
        // set wal_frames_ to 0: the difference is what this transaction wrote (or more, if a
        // reader kept the WAL from restarting). The first commit only learns the count: the
        // WAL may hold frames from before the hook (the migrations, a previous run).
        if (store->wal_frames_known_ && frames > store->wal_frames_) {
          const auto bytes = static_cast<uint64_t>(frames - store->wal_frames_) * store->page_size_;
          if (bytes > store->max_transaction_wal_bytes_.load(std::memory_order_relaxed)) {
            store->max_transaction_wal_bytes_.store(bytes, std::memory_order_relaxed);
          }
        }
        store->wal_frames_ = frames;
        store->wal_frames_known_ = true;
        return SQLITE_OK;
      },
      this);
  TG_RETURN_IF_ERROR(SetWalSizeLimit(limits_));
  TG_RETURN_IF_ERROR(PrepareStatements());
  TG_RETURN_IF_ERROR(PrepareBoundStatements());
  TG_RETURN_IF_ERROR(PrepareRevisionStatements());
  TG_RETURN_IF_ERROR(LoadCounts());
  std::lock_guard<std::mutex> lock(write_mu_);
  UpdateFull();
  return Status::Ok();
}

Status SqliteStore::LoadCounts() {
  sqlite3* db = write_db_.get();
  auto one = [db](std::string_view sql) -> Result<int64_t> {
    TG_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db, sql));
    TG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? stmt.Int(0) : 0;
  };
  TG_ASSIGN_OR_RETURN(int64_t records, LoadRecordCount(db, path_));
  records_ = records;
  TG_ASSIGN_OR_RETURN(dedup_rows_, one(sql::kCountDedupKeys));
  TG_ASSIGN_OR_RETURN(int64_t page_size, one("PRAGMA page_size"));
  page_size_ = static_cast<uint64_t>(page_size);
  TG_ASSIGN_OR_RETURN(auto inflight, LoadInflight());
  for (BatchRange& range : inflight) {
    TG_ASSIGN_OR_RETURN(range.stored_bytes, RangeStoredBytes(range));
  }
  std::lock_guard<std::mutex> lock(protect_mu_);
  protected_ = std::move(inflight);
  return Status::Ok();
}

void SqliteStore::MirrorBounds() {
  data_budget_ = limits_.data_bytes;
  // Only drop_oldest needs the in-flight budget: block drops nothing, in flight or not.
  const bool drops = options_.when_full == WhenFull::kDropOldest;
  inflight_budget_bytes_ = drops ? limits_.inflight_stored_bytes : 0;
  inflight_budget_records_ = drops ? StoreLimits::InflightRecords(options_.max_events) : 0;
}

Result<uint64_t> SqliteStore::RangeStoredBytes(const BatchRange& range) {
  range_stored_bytes_.Bind(1, int64_t{range.priority})
      .Bind(2, static_cast<int64_t>(range.first_seq))
      .Bind(3, static_cast<int64_t>(range.last_seq));
  Result<bool> row = range_stored_bytes_.Step();
  const int64_t bytes = row.ok() && *row ? range_stored_bytes_.Int(0) : 0;
  range_stored_bytes_.Reset();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(std::max<int64_t>(0, bytes));
}

Status SqliteStore::Migrate() {
  TG_RETURN_IF_ERROR(RegisterDedupChunkFunction(write_db_.get()));
  TG_ASSIGN_OR_RETURN(Stmt version_stmt, Stmt::Prepare(write_db_.get(), "PRAGMA user_version"));
  TG_ASSIGN_OR_RETURN(bool row, version_stmt.Step());
  int64_t version = row ? version_stmt.Int(0) : 0;
  version_stmt.Reset();  // an active statement would keep DROP TABLE from running
  if (version > static_cast<int64_t>(sql::kMigrations.size())) {
    return InvalidArgument(path_ + " has schema version " + std::to_string(version) +
                           ", newer than this agent understands");
  }
  for (auto v = static_cast<size_t>(version); v < sql::kMigrations.size(); ++v) {
    if (v == sql::kMoveEventsBeforeStep) TG_RETURN_IF_ERROR(MoveEventsInChunks());
    std::string step = "BEGIN IMMEDIATE;";
    step += sql::kMigrations[v];
    step += "PRAGMA user_version=" + std::to_string(v + 1) + "; COMMIT;";
    Status status = Exec(write_db_.get(), step, "migrate " + path_);
    if (!status.ok()) {
      (void)Exec(write_db_.get(), "ROLLBACK", "rollback");
      return status;
    }
  }
  return Status::Ok();
}

// The rows of the old events table into events_by_id (schema version 9 to 10), a chunk per
// transaction with a checkpoint after each: the file reuses the moved rows' pages and the WAL
// holds one chunk, so a full buffer upgrades within about its own size on disk. A crash
// between chunks leaves both tables consistent; the next start goes on from there.
Status SqliteStore::MoveEventsInChunks() {
  sqlite3* db = write_db_.get();
  int64_t moved = 0;
  const std::string chunk = "BEGIN IMMEDIATE;" + std::string(sql::kMoveEventsChunk) + "COMMIT;";
  while (true) {
    Status status = Exec(db, chunk, "upgrade " + path_);
    if (!status.ok()) {
      (void)Exec(db, "ROLLBACK", "rollback");
      return status;
    }
    const int64_t rows = sqlite3_changes(db);  // the chunk's DELETE: COMMIT changes nothing
    if (rows == 0) break;
    moved += rows;
    TG_RETURN_IF_ERROR(Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", "upgrade checkpoint"));
    if (moved % 100'000 < rows) {
      spdlog::info("buffer: upgrading {} to schema version 10: {} records moved", path_, moved);
    }
  }
  if (moved > 0) spdlog::info("buffer: upgraded {}: {} records moved", path_, moved);
  return Status::Ok();
}

Status SqliteStore::LoadIdentity() {
  sqlite3* db = write_db_.get();
  TG_ASSIGN_OR_RETURN(Stmt get, Stmt::Prepare(db, sql::kGetMeta));
  TG_ASSIGN_OR_RETURN(Stmt set, Stmt::Prepare(db, sql::kSetMeta));
  get.Bind(1, std::string_view("buffer_id"));
  TG_ASSIGN_OR_RETURN(bool row, get.Step());
  if (row) {
    buffer_id_ = std::string(get.Text(0));
  } else {
    buffer_id_ = RandomHex(16);
    TG_RETURN_IF_ERROR(set.Bind(1, std::string_view("buffer_id")).Bind(2, buffer_id_).Run());
  }
  get.Reset();
  get.Bind(1, std::string_view("next_seq"));
  TG_ASSIGN_OR_RETURN(row, get.Step());
  uint64_t stored_next = row ? static_cast<uint64_t>(get.Int(0)) : 1;
  get.Reset();
  TG_ASSIGN_OR_RETURN(Stmt max_seq, Stmt::Prepare(db, sql::kMaxSeq));
  TG_ASSIGN_OR_RETURN(row, max_seq.Step());
  uint64_t after_max = row && !max_seq.IsNull(0) ? static_cast<uint64_t>(max_seq.Int(0)) + 1 : 1;
  next_seq_ = std::max(stored_next, after_max);
  return Status::Ok();
}

// The dedup hash key is made once per buffer. A buffer written by a release that hashed
// with the legacy BLAKE2b gets its key at the first open by this one, and the legacy hash is
// still checked until the last key it wrote expires (meta.dedup_legacy_until, on the age
// line): a restart in that period keeps the same deadline.
Status SqliteStore::LoadDedupHashKey() {
  sqlite3* db = write_db_.get();
  TG_ASSIGN_OR_RETURN(Stmt get, Stmt::Prepare(db, sql::kGetMeta));
  get.Bind(1, std::string_view("dedup_hash_key"));
  TG_ASSIGN_OR_RETURN(bool row, get.Step());
  size_t len = 0;
  if (row && get.Text(0).size() == dedup_hash_key_.size() * 2 &&
      sodium_hex2bin(dedup_hash_key_.data(), dedup_hash_key_.size(), get.Text(0).data(),
                     get.Text(0).size(), nullptr, &len, nullptr) == 0 &&
      len == dedup_hash_key_.size()) {
    get.Reset();
    get.Bind(1, std::string_view("dedup_legacy_until"));
    TG_ASSIGN_OR_RETURN(row, get.Step());
    dedup_legacy_until_ = row ? get.Int(0) : 0;
    return Status::Ok();
  }
  get.Reset();
  randombytes_buf(dedup_hash_key_.data(), dedup_hash_key_.size());
  std::string hex(dedup_hash_key_.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), dedup_hash_key_.data(), dedup_hash_key_.size());
  hex.pop_back();
  TG_ASSIGN_OR_RETURN(Stmt last, Stmt::Prepare(db, sql::kLastDedupExpiry));
  TG_ASSIGN_OR_RETURN(row, last.Step());
  dedup_legacy_until_ = row && !last.IsNull(0) ? last.Int(0) : 0;
  TG_ASSIGN_OR_RETURN(Stmt set, Stmt::Prepare(db, sql::kSetMeta));
  TG_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin"));
  Status status =
      set.Bind(1, std::string_view("dedup_legacy_until")).Bind(2, dedup_legacy_until_).Run();
  if (status.ok()) status = set.Bind(1, std::string_view("dedup_hash_key")).Bind(2, hex).Run();
  if (status.ok()) status = Exec(db, "COMMIT", "commit");
  if (!status.ok()) (void)Exec(db, "ROLLBACK", "rollback");
  return status;
}

// The age line continues where the last run persisted it; a new (or newly upgraded)
// database starts it at the wall clock, so age stamps of old rows are their ingest times.
Status SqliteStore::StartAgeClock() {
  sqlite3* db = write_db_.get();
  TG_ASSIGN_OR_RETURN(Stmt get, Stmt::Prepare(db, sql::kGetMeta));
  get.Bind(1, std::string_view("age_ms"));
  TG_ASSIGN_OR_RETURN(bool row, get.Step());
  const int64_t start = row ? get.Int(0) : clock().NowUnixMs();
  get.Reset();
  age_clock_ = std::make_unique<AgeClock>(clock(), start);
  last_maintain_ms_ = start - kMaintainIntervalMs;  // the first commit maintains
  last_age_persist_ms_ = start;
  if (row) return Status::Ok();
  TG_ASSIGN_OR_RETURN(Stmt set, Stmt::Prepare(db, sql::kSetMeta));
  return set.Bind(1, std::string_view("age_ms")).Bind(2, start).Run();
}

Status SqliteStore::PrepareStatements() {
  sqlite3* w = write_db_.get();
  TG_ASSIGN_OR_RETURN(insert_event_, Stmt::Prepare(w, sql::kInsertEvent));
  TG_ASSIGN_OR_RETURN(insert_dead_letter_, Stmt::Prepare(w, sql::kInsertDeadLetter));
  TG_ASSIGN_OR_RETURN(add_counter_, Stmt::Prepare(w, sql::kAddCounter));
  TG_ASSIGN_OR_RETURN(set_meta_, Stmt::Prepare(w, sql::kSetMeta));
  TG_ASSIGN_OR_RETURN(delete_range_, Stmt::Prepare(w, sql::kDeleteRange));
  TG_ASSIGN_OR_RETURN(insert_inflight_, Stmt::Prepare(w, sql::kInsertInflight));
  TG_ASSIGN_OR_RETURN(range_stored_bytes_, Stmt::Prepare(w, sql::kRangeStoredBytes));
  TG_ASSIGN_OR_RETURN(delete_inflight_, Stmt::Prepare(w, sql::kDeleteInflight));
  TG_ASSIGN_OR_RETURN(insert_rejected_, Stmt::Prepare(w, sql::kInsertRejected));
  TG_ASSIGN_OR_RETURN(insert_key_epoch_, Stmt::Prepare(w, sql::kInsertKeyEpoch));
  TG_ASSIGN_OR_RETURN(insert_dedup_chunk_, Stmt::Prepare(w, sql::kInsertDedupChunk));
  TG_ASSIGN_OR_RETURN(put_state_, Stmt::Prepare(w, sql::kPutState));
  TG_ASSIGN_OR_RETURN(erase_state_, Stmt::Prepare(w, sql::kEraseState));
  sqlite3* r = read_db_.get();
  TG_ASSIGN_OR_RETURN(top_priority_, Stmt::Prepare(r, sql::kTopPriority));
  TG_ASSIGN_OR_RETURN(priority_below_, Stmt::Prepare(r, sql::kPriorityBelow));
  TG_ASSIGN_OR_RETURN(select_from_priority_, Stmt::Prepare(r, sql::kSelectFromPriority));
  TG_ASSIGN_OR_RETURN(select_range_, Stmt::Prepare(r, sql::kSelectRange));
  TG_ASSIGN_OR_RETURN(select_inflight_, Stmt::Prepare(r, sql::kSelectInflight));
  TG_ASSIGN_OR_RETURN(select_key_epoch_, Stmt::Prepare(r, sql::kSelectKeyEpoch));
  return Status::Ok();
}

Status SqliteStore::Append(const std::vector<Event>& records,
                           const std::vector<DeadLetter>& dead_letters,
                           const std::map<std::string, int64_t>& counter_deltas,
                           const std::vector<SealedKeyEpoch>& key_epochs,
                           const std::vector<StateWrite>& state) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite3* db = write_db_.get();
  TG_RETURN_IF_ERROR(BeginWrite("begin append"));
  uint64_t seq = next_seq_;
  Deltas d;
  const int64_t saved_dedup_rows = dedup_rows_;
  std::unique_lock<std::mutex> protect(protect_mu_, std::defer_lock);
  const int64_t now = age_clock_->Now().age_ms;
  auto write_all = [&]() -> Status {
    TG_RETURN_IF_ERROR(WriteKeyEpochs(key_epochs));
    TG_RETURN_IF_ERROR(WriteRecords(records, now, seq, d));
    TG_RETURN_IF_ERROR(WriteState(state));
    TG_RETURN_IF_ERROR(WriteDeadLetters(dead_letters));
    TG_RETURN_IF_ERROR(WriteCounters(counter_deltas));
    return BoundAndCommit(seq, now, protect, d);
  };
  Status status = write_all();
  if (!status.ok()) {
    (void)Exec(db, "ROLLBACK", "rollback append");
    dedup_rows_ = saved_dedup_rows;
    return status;
  }
  if (protect.owns_lock()) protect.unlock();
  next_seq_ = seq;
  ApplyDeltas(d);
  AfterCommit();
  DeleteInChunks();
  SupersedeRevisions(records);
  return Status::Ok();
}

Status SqliteStore::WriteKeyEpochs(const std::vector<SealedKeyEpoch>& key_epochs) {
  for (const SealedKeyEpoch& k : key_epochs) {
    insert_key_epoch_.Bind(1, static_cast<int64_t>(k.epoch))
        .BindBlob(2, k.sealed)
        .Bind(3, k.created_at_ms);
    TG_RETURN_IF_ERROR(insert_key_epoch_.Run());
  }
  return Status::Ok();
}

Status SqliteStore::WriteRecords(const std::vector<Event>& records, int64_t now, uint64_t& seq,
                                 Deltas& d) {
  std::string dedup_chunk;  // the commit's dedup keys: one dedup_chunks row
  int64_t last_expires = std::numeric_limits<int64_t>::min();
  for (const Event& e : records) {
    if (e.dedup_key != 0) {
      AppendDedupEntry(e.dedup_key, e.dedup_expires_ms, &dedup_chunk);
      last_expires = std::max(last_expires, e.dedup_expires_ms);
    }
    if (!e.store) continue;
    if (e.priority < 0 || e.priority > sql::kMaxPriority) {
      return InvalidArgument("record priority " + std::to_string(e.priority) + " is outside 0-" +
                             std::to_string(sql::kMaxPriority));
    }
    insert_event_.Bind(1, sql::RecordId(e.priority, static_cast<int64_t>(seq++)))
        .Bind(2, static_cast<int64_t>(e.kind))
        .Bind(3, e.event_time_ms)
        .Bind(4, e.ingest_time_ms)
        .Bind(5, e.topic)
        .Bind(6, e.device_id)
        .Bind(7, int64_t{e.flags})
        .Bind(8, static_cast<int64_t>(e.key_epoch))
        .BindBlob(9, e.payload)
        .Bind(10, e.age_ms != 0 ? e.age_ms : now)
        .Bind(11, e.schema_name)
        .Bind(12, e.schema_version);
    TG_RETURN_IF_ERROR(insert_event_.Run());
    if (e.kind == RecordKind::kWindowResult) TG_RETURN_IF_ERROR(WriteWindowKey(seq - 1, e));
    ++d.records;
  }
  if (dedup_chunk.empty()) return Status::Ok();
  const auto keys = static_cast<int64_t>(dedup_chunk.size() / kDedupEntryBytes);
  insert_dedup_chunk_.Bind(1, last_expires).Bind(2, keys).BindBlob(3, dedup_chunk);
  TG_RETURN_IF_ERROR(insert_dedup_chunk_.Run());
  dedup_rows_ += keys;
  return Status::Ok();
}

Status SqliteStore::WriteState(const std::vector<StateWrite>& state) {
  for (const StateWrite& w : state) {
    if (w.erase) {
      TG_RETURN_IF_ERROR(erase_state_.Bind(1, w.key).Run());
    } else {
      TG_RETURN_IF_ERROR(put_state_.Bind(1, w.key).BindBlob(2, w.value).Run());
    }
  }
  return Status::Ok();
}

Status SqliteStore::WriteDeadLetters(const std::vector<DeadLetter>& dead_letters) {
  for (const DeadLetter& dl : dead_letters) {
    insert_dead_letter_.Bind(1, dl.time_ms)
        .Bind(2, dl.topic)
        .Bind(3, dl.reason)
        .Bind(4, static_cast<int64_t>(dl.size))
        .Bind(5, dl.detail);
    TG_RETURN_IF_ERROR(insert_dead_letter_.Run());
  }
  return Status::Ok();
}

Status SqliteStore::WriteCounters(const std::map<std::string, int64_t>& counter_deltas) {
  for (const auto& [name, delta] : counter_deltas) {
    TG_RETURN_IF_ERROR(add_counter_.Bind(1, name).Bind(2, delta).Run());
  }
  return Status::Ok();
}

Status SqliteStore::BoundAndCommit(uint64_t next_seq, int64_t now,
                                   std::unique_lock<std::mutex>& protect, Deltas& d) {
  set_meta_.Bind(1, std::string_view("next_seq")).Bind(2, static_cast<int64_t>(next_seq));
  TG_RETURN_IF_ERROR(set_meta_.Run());
  TG_RETURN_IF_ERROR(PersistAge(now));
  // Drops must be committed before ReadNext can protect what it read (see ReadNext).
  protect.lock();
  const bool due = now - last_maintain_ms_ >= kMaintainIntervalMs;
  // One page budget for the commit's expiry and drops; what it leaves, DeleteInChunks does.
  TG_ASSIGN_OR_RETURN(DropPages pages, DropPageBudget(d));
  expiry_owed_ = drops_owed_ = false;
  if (due) TG_RETURN_IF_ERROR(ExpireMaxAge(now, d, pages, &expiry_owed_));
  if (due || dedup_rows_ > static_cast<int64_t>(limits_.max_dedup_keys)) {
    TG_RETURN_IF_ERROR(BoundDedupKeys(now, d));
  }
  if (options_.when_full == WhenFull::kDropOldest) {
    TG_RETURN_IF_ERROR(EnforceBounds(d, pages, &drops_owed_));
  }
  TG_RETURN_IF_ERROR(WriteDeltas(d));
  TG_RETURN_IF_ERROR(Exec(write_db_.get(), "COMMIT", "commit append"));
  if (due) last_maintain_ms_ = now;
  return Status::Ok();
}

Status SqliteStore::ReadRows(Stmt& stmt, std::vector<BufferedRecord>* rows) {
  size_t n = 0;
  Status status;
  while (true) {
    Result<bool> row = stmt.Step();
    if (!row.ok()) {
      status = row.status();
      break;
    }
    if (!*row) break;
    if (n == rows->size()) rows->emplace_back();
    SetRecord(stmt, &(*rows)[n++]);
  }
  stmt.Reset();
  rows->resize(n);
  return status;
}

Result<std::vector<BatchRange>> SqliteStore::LoadInflight() {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<BatchRange> ranges;
  while (true) {
    Result<bool> row = select_inflight_.Step();
    if (!row.ok()) {
      select_inflight_.Reset();
      return row.status();
    }
    if (!*row) break;
    BatchRange& r = ranges.emplace_back();
    r.batch_id = std::string(select_inflight_.Text(0));
    r.priority = static_cast<int>(select_inflight_.Int(1));
    r.first_seq = static_cast<uint64_t>(select_inflight_.Int(2));
    r.last_seq = static_cast<uint64_t>(select_inflight_.Int(3));
    r.count = static_cast<uint32_t>(select_inflight_.Int(4));
    r.created_at_ms = select_inflight_.Int(5);
  }
  select_inflight_.Reset();
  return ranges;
}

Result<std::vector<BufferedRecord>> SqliteStore::ReadNext(size_t max_records, size_t max_bytes) {
  std::vector<BufferedRecord> rows;
  TG_RETURN_IF_ERROR(ReadNext(max_records, max_bytes, &rows));
  return rows;
}

Status SqliteStore::ReadNext(size_t max_records, size_t max_bytes,
                             std::vector<BufferedRecord>* rows) {
  std::lock_guard<std::mutex> lock(read_mu_);
  uint64_t generation = 0;
  uint64_t max_stored_bytes = std::numeric_limits<uint64_t>::max();
  {
    std::lock_guard<std::mutex> protect(protect_mu_);
    generation = drop_generation_;
    if (!FitInflightBudget(&max_records, &max_stored_bytes)) {
      rows->clear();
      return Status::Ok();
    }
  }
  uint64_t stored_bytes = 0;
  TG_RETURN_IF_ERROR(ReadNextLocked(max_records, max_bytes, max_stored_bytes, rows, &stored_bytes));
  if (rows->empty()) return Status::Ok();
  if (after_read_snapshot_) after_read_snapshot_();
  BatchRange range{.batch_id = {},
                   .priority = rows->front().event.priority,
                   .first_seq = rows->front().seq,
                   .last_seq = rows->back().seq,
                   .count = static_cast<uint32_t>(rows->size()),
                   .created_at_ms = 0,
                   .stored_bytes = stored_bytes};
  {
    // From here on the size policy leaves these rows alone. A drop committed since our
    // snapshot may have taken some already: then read again what is really there.
    std::lock_guard<std::mutex> protect(protect_mu_);
    reserved_ = range;
    if (drop_generation_ == generation) return Status::Ok();
  }
  select_range_.Bind(1, int64_t{range.priority})
      .Bind(2, static_cast<int64_t>(range.first_seq))
      .Bind(3, static_cast<int64_t>(range.last_seq));
  return ReadRows(select_range_, rows);
}

void SqliteStore::SetAfterReadSnapshot(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(read_mu_);
  after_read_snapshot_ = std::move(hook);
}

std::map<int64_t, uint64_t> SqliteStore::LastInflightSeqs() {
  std::lock_guard<std::mutex> protect(protect_mu_);
  std::map<int64_t, uint64_t> last;
  for (const BatchRange& r : protected_) {
    uint64_t& seq = last[r.priority];
    seq = std::max(seq, r.last_seq);
  }
  return last;
}

Status SqliteStore::ReadNextLocked(size_t max_records, size_t max_bytes, uint64_t max_stored_bytes,
                                   std::vector<BufferedRecord>* rows, uint64_t* stored_bytes) {
  // Taken before the snapshot: a batch acknowledged after this is still in the list, so its
  // rows are skipped if the snapshot has them; one acknowledged before is gone from both.
  // (Read after the snapshot, a batch acknowledged in between would be read again.)
  const std::map<int64_t, uint64_t> in_flight = LastInflightSeqs();
  // One read transaction, so the priorities and the rows come from the same snapshot.
  TG_RETURN_IF_ERROR(Exec(read_db_.get(), "BEGIN", "begin read"));
  // max(priority) [below p]: no row means no records (left).
  auto priority_of = [](Stmt& stmt) -> Result<int64_t> {
    TG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    const int64_t priority = !row || stmt.IsNull(0) ? -1 : stmt.Int(0);
    stmt.Reset();
    return priority;
  };
  auto read = [&]() -> Status {
    TG_ASSIGN_OR_RETURN(int64_t priority, priority_of(top_priority_));
    // At most one pass per priority (0-9 and window results): each step is an index seek.
    while (priority >= 0) {
      const auto last = in_flight.find(priority);
      select_from_priority_.Bind(1, priority)
          .Bind(2, static_cast<int64_t>(last == in_flight.end() ? 0 : last->second))
          .Bind(3, static_cast<int64_t>(max_records));
      TG_RETURN_IF_ERROR(ReadRows(select_from_priority_, rows));
      if (!rows->empty()) break;
      priority_below_.Bind(1, priority);
      TG_ASSIGN_OR_RETURN(priority, priority_of(priority_below_));
    }
    if (priority < 0) rows->clear();
    uint64_t bytes = 0, stored = 0;
    size_t keep = 0;
    for (; keep < rows->size(); ++keep) {
      const Event& e = (*rows)[keep].event;
      const uint64_t next_bytes = bytes + e.payload.size();
      const uint64_t next_stored = stored + StoredBytes(e);
      if (keep > 0 && (next_bytes > max_bytes || next_stored > max_stored_bytes)) break;
      bytes = next_bytes;
      stored = next_stored;
    }
    rows->resize(keep);
    *stored_bytes = stored;
    return Status::Ok();
  };
  Status status = read();
  (void)Exec(read_db_.get(), "COMMIT", "end read");
  return status;
}

Result<std::vector<BufferedRecord>> SqliteStore::ReadRange(const BatchRange& range) {
  std::vector<BufferedRecord> rows;
  TG_RETURN_IF_ERROR(ReadRange(range, &rows));
  return rows;
}

Status SqliteStore::ReadRange(const BatchRange& range, std::vector<BufferedRecord>* rows) {
  std::lock_guard<std::mutex> lock(read_mu_);
  select_range_.Bind(1, int64_t{range.priority})
      .Bind(2, static_cast<int64_t>(range.first_seq))
      .Bind(3, static_cast<int64_t>(range.last_seq));
  return ReadRows(select_range_, rows);
}

Result<std::vector<std::pair<uint64_t, int64_t>>> SqliteStore::LoadDedupKeys(int64_t age_ms) {
  std::vector<std::pair<uint64_t, int64_t>> keys;
  TG_RETURN_IF_ERROR(ForEachDedupKey(
      age_ms, [&keys](uint64_t key, int64_t expires_at) { keys.emplace_back(key, expires_at); }));
  return keys;
}

Status SqliteStore::ForEachDedupKey(
    int64_t age_ms, const std::function<void(uint64_t key, int64_t expires_at)>& fn) {
  std::lock_guard<std::mutex> lock(read_mu_);
  TG_ASSIGN_OR_RETURN(Stmt load, Stmt::Prepare(read_db_.get(), sql::kLoadDedupChunks));
  load.Bind(1, age_ms);
  // A damaged row is skipped, so the rows after it (the newest keys) still load.
  int64_t damaged = 0;
  while (true) {
    TG_ASSIGN_OR_RETURN(bool row, load.Step());
    if (!row) break;
    Status chunk = ForEachDedupEntry(load.Text(0), [&](uint64_t key, int64_t expires) {
      if (expires > age_ms) fn(key, expires);
    });
    if (!chunk.ok()) ++damaged;
  }
  if (damaged > 0) {
    return Corruption(std::to_string(damaged) + " damaged dedup_chunks row(s) skipped");
  }
  return Status::Ok();
}

int64_t SqliteStore::DedupKeyRows() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return dedup_rows_;
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::LoadState() {
  std::lock_guard<std::mutex> lock(read_mu_);
  TG_ASSIGN_OR_RETURN(Stmt load, Stmt::Prepare(read_db_.get(), sql::kLoadState));
  std::vector<std::pair<std::string, std::string>> rows;
  while (true) {
    TG_ASSIGN_OR_RETURN(bool row, load.Step());
    if (!row) break;
    rows.emplace_back(std::string(load.Text(0)), std::string(load.Text(1)));
  }
  return rows;
}

Result<std::string> SqliteStore::SealedKeyOf(uint64_t epoch) {
  std::lock_guard<std::mutex> lock(read_mu_);
  select_key_epoch_.Bind(1, static_cast<int64_t>(epoch));
  Result<bool> row = select_key_epoch_.Step();
  std::string sealed = row.ok() && *row ? std::string(select_key_epoch_.Text(0)) : "";
  select_key_epoch_.Reset();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no sealed key for epoch " + std::to_string(epoch));
  return sealed;
}

// Shrinks a read to what the batches in flight leave of their budget; false when nothing is
// left (then at least one batch is in flight, and its acknowledgement frees room).
// REQUIRES: protect_mu_ held.
bool SqliteStore::FitInflightBudget(size_t* max_records, uint64_t* max_stored_bytes) const {
  // With nothing in flight, used is 0 and a read always gets a record (progress).
  uint64_t bytes = 0, records = 0;
  for (const BatchRange& r : protected_) {
    bytes += r.stored_bytes;
    records += r.count;
  }
  // What is left of a budget; a budget of 0 is no bound.
  auto room = [](uint64_t budget, uint64_t used) {
    if (budget == 0) return std::numeric_limits<uint64_t>::max();
    return used >= budget ? 0 : budget - used;
  };
  const uint64_t bytes_room = room(inflight_budget_bytes_.load(), bytes);
  const uint64_t records_room = room(inflight_budget_records_.load(), records);
  if (bytes_room == 0 || records_room == 0) return false;
  *max_stored_bytes = std::min(*max_stored_bytes, bytes_room);
  *max_records = static_cast<size_t>(std::min<uint64_t>(*max_records, records_room));
  return true;
}

Status SqliteStore::MarkInflight(const BatchRange& batch) {
  std::lock_guard<std::mutex> lock(write_mu_);
  BatchRange range = batch;
  {
    std::lock_guard<std::mutex> protect(protect_mu_);
    if (range.priority == reserved_.priority && range.first_seq == reserved_.first_seq &&
        range.last_seq == reserved_.last_seq) {
      range.stored_bytes = reserved_.stored_bytes;  // ReadNext's answer: counted already
    }
  }
  if (range.stored_bytes == 0) {
    TG_ASSIGN_OR_RETURN(range.stored_bytes, RangeStoredBytes(range));
  }
  insert_inflight_.Bind(1, range.batch_id)
      .Bind(2, int64_t{range.priority})
      .Bind(3, static_cast<int64_t>(range.first_seq))
      .Bind(4, static_cast<int64_t>(range.last_seq))
      .Bind(5, int64_t{range.count})
      .Bind(6, range.created_at_ms);
  SettleWal();
  TG_RETURN_IF_ERROR(insert_inflight_.Run());
  {
    std::lock_guard<std::mutex> protect(protect_mu_);
    protected_.push_back(range);
  }
  AfterCommit();
  return Status::Ok();
}

Status SqliteStore::DeleteBatch(const BatchRange& range) {
  delete_range_.Bind(1, int64_t{range.priority})
      .Bind(2, static_cast<int64_t>(range.first_seq))
      .Bind(3, static_cast<int64_t>(range.last_seq));
  TG_RETURN_IF_ERROR(delete_range_.Run());
  deleted_ = sqlite3_changes(write_db_.get());
  TG_RETURN_IF_ERROR(PersistRecords(-deleted_));
  TG_RETURN_IF_ERROR(DeleteWindowKeys(range, range.first_seq, range.last_seq));
  return delete_inflight_.Bind(1, range.batch_id).Run();
}

void SqliteStore::AfterDelete(const BatchRange& range) {
  records_ -= deleted_;
  {
    std::lock_guard<std::mutex> protect(protect_mu_);
    std::erase_if(protected_, [&](const BatchRange& r) { return r.batch_id == range.batch_id; });
  }
  AfterCommit();
}

// With a size bound the batch is deleted in chunks, each its own transaction followed by the
// checkpoint check, so one acknowledgement cannot grow the WAL by a whole batch. A crash
// between chunks leaves the in-flight row and part of the batch: the restart resends that
// part under the same batch id, which the receiver already has (it acknowledged it).
Status SqliteStore::Ack(const BatchRange& range) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite3* db = write_db_.get();
  const uint64_t chunk = limits_.max_bytes == 0
                             ? std::numeric_limits<uint64_t>::max()
                             : std::max<uint64_t>(16, limits_.staging_bytes / 256);
  uint64_t from = range.first_seq;
  while (true) {
    const bool last = range.last_seq - from < chunk || range.last_seq < from;
    const uint64_t to = last ? range.last_seq : from + chunk - 1;
    TG_RETURN_IF_ERROR(BeginWrite("begin ack"));
    delete_range_.Bind(1, int64_t{range.priority})
        .Bind(2, static_cast<int64_t>(from))
        .Bind(3, static_cast<int64_t>(to));
    Status status = delete_range_.Run();
    const int64_t deleted = sqlite3_changes(db);
    if (status.ok()) status = PersistRecords(-deleted);
    if (status.ok()) status = DeleteWindowKeys(range, from, to);
    if (status.ok() && last) status = delete_inflight_.Bind(1, range.batch_id).Run();
    if (status.ok()) status = Exec(db, "COMMIT", "commit ack");
    if (!status.ok()) {
      (void)Exec(db, "ROLLBACK", "rollback ack");
      return status;
    }
    if (last) {
      deleted_ = deleted;
      AfterDelete(range);
      return Status::Ok();
    }
    records_ -= deleted;
    CheckpointIfDue();
    from = to + 1;
  }
}

Status SqliteStore::Reject(const BatchRange& range, int http_status, std::string_view reason) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite3* db = write_db_.get();
  TG_RETURN_IF_ERROR(BeginWrite("begin reject"));
  insert_rejected_.Bind(1, range.batch_id)
      .Bind(2, RealClock().NowUnixMs())
      .Bind(3, int64_t{http_status})
      .Bind(4, reason)
      .Bind(5, static_cast<int64_t>(range.first_seq))
      .Bind(6, static_cast<int64_t>(range.last_seq))
      .Bind(7, int64_t{range.count});
  Status status = insert_rejected_.Run();
  if (status.ok())
    status = add_counter_.Bind(1, std::string_view("batches_rejected")).Bind(2, int64_t{1}).Run();
  if (status.ok()) status = DeleteBatch(range);
  if (status.ok()) status = Exec(db, "COMMIT", "commit reject");
  if (!status.ok()) {
    (void)Exec(db, "ROLLBACK", "rollback reject");
    return status;
  }
  AfterDelete(range);
  return status;
}

}  // namespace tidegate::buffer
