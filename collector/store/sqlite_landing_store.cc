// SPDX-License-Identifier: Apache-2.0
#include "collector/store/sqlite_landing_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "collector/store/sqlite_landing_sql.h"

namespace tidegate::collector {
namespace {

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Resets a cached statement when a landing step is done with it, also on early returns,
// so no statement keeps a read transaction or bound pointers alive.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = fmt::format("landing db: {}: {}", what,
                                    db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_FULL:
      return ResourceExhausted(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corruption(std::move(message));
    default:
      return IOError(std::move(message));
  }
}

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : SqliteError(db, rc, what);
}

Result<StmtPtr> PrepareStmt(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
  return StmtPtr(raw);
}

// Binds text without copying: the caller keeps the string alive until the statement resets.
int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// uint64 sequence numbers are stored as the same 64 bits in SQLite's signed INTEGER.
int BindU64(sqlite3_stmt* stmt, int index, uint64_t value) {
  return sqlite3_bind_int64(stmt, index, static_cast<sqlite3_int64>(value));
}

Status StepDone(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db, rc, what);
}

// The same for one record of a batch: the message names its seq, formatted only on failure
// (formatting it for every landed event was 2% of the collector's CPU).
Status StepDone(sqlite3* db, sqlite3_stmt* stmt, std::string_view what, uint64_t seq) {
  int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? Status::Ok()
                           : SqliteError(db, rc, fmt::format("{} seq {}", what, seq));
}

Status CheckBinds(sqlite3* db, std::initializer_list<int> codes, std::string_view what) {
  for (int rc : codes) {
    if (rc != SQLITE_OK) return SqliteError(db, rc, what);
  }
  return Status::Ok();
}

std::string ColumnText(sqlite3_stmt* stmt, int col) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
  return text != nullptr ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, col)))
                         : std::string();
}

Result<int> ReadUserVersion(sqlite3* db) {
  TG_ASSIGN_OR_RETURN(StmtPtr stmt, PrepareStmt(db, sql::kUserVersion));
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read user_version");
  return sqlite3_column_int(stmt.get(), 0);
}

Result<SqliteLandingStore::DbPtr> OpenDb(const std::string& path, int flags) {
  // No memory statistics, set before SQLite initializes (refused after): with them every
  // sqlite3_malloc and free takes a global mutex, as in the agent (buffer/sqlite_util.h).
  static const int kMemstatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemstatusOff;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteLandingStore::DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "open " + path);
  sqlite3_extended_result_codes(db.get(), 1);
  // A concurrent dump or writer holds the lock only briefly; wait rather than fail.
  rc = sqlite3_busy_timeout(db.get(), 5000);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "busy_timeout");
  return db;
}

Status CheckNotNewer(int version, const std::string& path) {
  if (version > sql::kSchemaVersion) {
    return InvalidArgument(fmt::format("{}: schema version {} is newer than this collector's {}",
                                       path, version, sql::kSchemaVersion));
  }
  return Status::Ok();
}

// Runs the migration steps from the database's version up to kSchemaVersion. The version
// is read again inside the write transaction, so two collectors opening the same file at
// once migrate it once.
Status MigrateLocked(sqlite3* db, const std::string& path) {
  TG_ASSIGN_OR_RETURN(int version, ReadUserVersion(db));
  TG_RETURN_IF_ERROR(CheckNotNewer(version, path));
  if (version < 1) TG_RETURN_IF_ERROR(Exec(db, sql::kCreateSchemaV1, "create schema v1"));
  if (version < 2) TG_RETURN_IF_ERROR(Exec(db, sql::kMigrateV1ToV2, "migrate schema v1 to v2"));
  if (version < 3) TG_RETURN_IF_ERROR(Exec(db, sql::kMigrateV2ToV3, "migrate schema v2 to v3"));
  return Status::Ok();
}

Status Migrate(sqlite3* db, const std::string& path) {
  TG_ASSIGN_OR_RETURN(int version, ReadUserVersion(db));
  TG_RETURN_IF_ERROR(CheckNotNewer(version, path));
  if (version == sql::kSchemaVersion) return Status::Ok();
  TG_RETURN_IF_ERROR(Exec(db, sql::kBegin, "begin migration"));
  Status s = MigrateLocked(db, path);
  if (s.ok()) s = Exec(db, sql::kCommit, "commit migration");
  if (!s.ok() && sqlite3_get_autocommit(db) == 0) {
    // The migration error is what the caller needs; a failing rollback adds nothing.
    static_cast<void>(Exec(db, sql::kRollback, "rollback migration"));
  }
  return s;
}

AgentRecord ReadAgent(sqlite3_stmt* st) {
  return AgentRecord{.instance_uid = ColumnText(st, 0),
                     .agent_id = ColumnText(st, 1),
                     .last_seen = sqlite3_column_int64(st, 2),
                     .sequence_num = static_cast<uint64_t>(sqlite3_column_int64(st, 3)),
                     .config_status = ColumnText(st, 4),
                     .config_hash = ColumnText(st, 5),
                     .config_error = ColumnText(st, 6),
                     .healthy = sqlite3_column_int(st, 7) != 0,
                     .health_status = ColumnText(st, 8),
                     .effective_config_hash = ColumnText(st, 9)};
}

}  // namespace

struct SqliteLandingStore::Statements {
  StmtPtr insert_batch;
  StmtPtr insert_event;
  StmtPtr upsert_aggregate;
  StmtPtr add_counter;
};

void SqliteLandingStore::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

SqliteLandingStore::SqliteLandingStore(DbPtr db, Clock* clock, std::string path)
    : db_(std::move(db)), clock_(clock), path_(std::move(path)) {}

SqliteLandingStore::~SqliteLandingStore() {
  // Its connection closes first: the store's own, closing last, then checkpoints what is left.
  checkpointer_.reset();
  // Statements must be finalized before the connection closes.
  stmt_.reset();
  db_.reset();
}

Result<std::unique_ptr<SqliteLandingStore>> SqliteLandingStore::Open(const std::string& data_dir,
                                                                     Clock& clock) {
  std::string path = data_dir + "/" + kLandingDbName;
  TG_ASSIGN_OR_RETURN(
      DbPtr db, OpenDb(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX));
  TG_RETURN_IF_ERROR(Exec(db.get(), sql::kPragmas, "set pragmas on " + path));
  TG_RETURN_IF_ERROR(Migrate(db.get(), path));
  std::unique_ptr<SqliteLandingStore> store(new SqliteLandingStore(std::move(db), &clock, path));
  TG_RETURN_IF_ERROR(store->Prepare());
  TG_ASSIGN_OR_RETURN(store->checkpointer_,
                      WalCheckpointer::Start(store->db_.get(), path, WalCheckpointer::Options{}));
  return store;
}

Result<std::unique_ptr<SqliteLandingStore>> SqliteLandingStore::OpenReadOnly(
    const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return NotFound(fmt::format("data dir {} does not exist or is not a directory", data_dir));
  }
  std::string path = data_dir + "/" + kLandingDbName;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound(fmt::format("{} does not exist (nothing was ever landed here?)", path));
  }
  TG_ASSIGN_OR_RETURN(DbPtr db, OpenDb(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX));
  TG_ASSIGN_OR_RETURN(int version, ReadUserVersion(db.get()));
  if (version == 0) return Corruption(path + " is not a tidegate landing database");
  // Reading works on every version up to ours: the migrations so far left the events and
  // aggregates tables as they were (before version 3 there is no agents table: no agents).
  TG_RETURN_IF_ERROR(CheckNotNewer(version, path));
  return std::unique_ptr<SqliteLandingStore>(new SqliteLandingStore(std::move(db), nullptr, path));
}

Status SqliteLandingStore::Prepare() {
  auto stmt = std::make_unique<Statements>();
  TG_ASSIGN_OR_RETURN(stmt->insert_batch, PrepareStmt(db_.get(), sql::kInsertBatch));
  TG_ASSIGN_OR_RETURN(stmt->insert_event, PrepareStmt(db_.get(), sql::kInsertEvent));
  TG_ASSIGN_OR_RETURN(stmt->upsert_aggregate, PrepareStmt(db_.get(), sql::kUpsertAggregate));
  TG_ASSIGN_OR_RETURN(stmt->add_counter, PrepareStmt(db_.get(), sql::kAddCounter));
  stmt_ = std::move(stmt);
  return Status::Ok();
}

struct SqliteLandingStore::PendingLand {
  const schema::DecodedBatch* batch = nullptr;
  Result<LandOutcome> result = Internal("not landed");
  bool done = false;  // guarded by queue_mu_
};

// The leader/follower queue of LevelDB's DBImpl::Write: the caller at the front lands itself
// and the callers queued behind it, then wakes them.
Result<LandOutcome> SqliteLandingStore::Land(const schema::DecodedBatch& batch) {
  PendingLand me;
  me.batch = &batch;
  std::unique_lock<std::mutex> lock(queue_mu_);
  queue_.push_back(&me);
  queue_cv_.wait(lock, [&] { return me.done || queue_.front() == &me; });
  if (me.done) return std::move(me.result);
  const size_t n = std::min(queue_.size(), kMaxGroup);
  std::vector<PendingLand*> group(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
  lock.unlock();
  LandGroup(group);
  lock.lock();
  for (PendingLand* p : group) {
    queue_.pop_front();
    p->done = true;
  }
  queue_cv_.notify_all();
  return std::move(me.result);
}

void SqliteLandingStore::LandGroup(const std::vector<PendingLand*>& group) {
  std::lock_guard<std::mutex> lock(mu_);
  auto fail_all = [&](const Status& s) {
    for (PendingLand* p : group) p->result = s;
  };
  if (stmt_ == nullptr) return fail_all(Internal(path_ + " is open read-only"));
  if (Status s = Exec(db_.get(), sql::kBegin, "begin"); !s.ok()) return fail_all(s);
  for (PendingLand* p : group) {
    // Some errors (a full disk, I/O) make SQLite roll the whole transaction back: the rest
    // of the group must not land outside it.
    p->result = sqlite3_get_autocommit(db_.get()) == 0
                    ? LandInSavepoint(*p->batch)
                    : IOError("landing db: the transaction ended at an earlier batch's error");
  }
  Status s = Exec(
      db_.get(), sql::kCommit,
      fmt::format("commit {} batch(es) from {}", group.size(), group.front()->batch->batch_id));
  if (!s.ok()) {
    // Only roll back a transaction that is still open (a failed COMMIT may have ended it);
    // the landing error is what the callers report, a failing rollback adds nothing.
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      static_cast<void>(Exec(db_.get(), sql::kRollback, "rollback"));
    }
    fail_all(s);
  }
}

Result<LandOutcome> SqliteLandingStore::LandInSavepoint(const schema::DecodedBatch& batch) {
  TG_RETURN_IF_ERROR(Exec(db_.get(), sql::kSavepoint, "savepoint"));
  LandOutcome outcome;
  Status s = LandLocked(batch, &outcome);
  if (!s.ok()) {
    // Undoes this batch only; the transaction goes on with the others.
    static_cast<void>(Exec(db_.get(), sql::kRollbackToSavepoint, "rollback to savepoint"));
  }
  Status released = Exec(db_.get(), sql::kReleaseSavepoint, "release savepoint");
  if (!s.ok()) return s;
  if (!released.ok()) return released;
  return outcome;
}

Status SqliteLandingStore::LandLocked(const schema::DecodedBatch& batch, LandOutcome* outcome) {
  sqlite3* db = db_.get();
  sqlite3_stmt* st = stmt_->insert_batch.get();
  ResetOnExit reset(st);
  TG_RETURN_IF_ERROR(CheckBinds(
      db,
      {BindText(st, 1, batch.batch_id), BindText(st, 2, batch.agent_id),
       BindU64(st, 3, batch.first_seq), BindU64(st, 4, batch.last_seq),
       sqlite3_bind_int64(st, 5, batch.created_at), sqlite3_bind_int64(st, 6, clock_->NowUnixMs()),
       sqlite3_bind_int64(st, 7, static_cast<sqlite3_int64>(batch.events.size())),
       sqlite3_bind_int64(st, 8, static_cast<sqlite3_int64>(batch.window_results.size()))},
      "bind batch"));
  TG_RETURN_IF_ERROR(StepDone(db, st, "insert batch " + batch.batch_id));
  if (sqlite3_changes(db) == 0) {
    outcome->duplicate = true;
    return AddCounter(sql::kCounterBatchesDuplicate, 1);
  }
  TG_RETURN_IF_ERROR(InsertEvents(batch));
  TG_RETURN_IF_ERROR(UpsertWindowResults(batch));
  TG_RETURN_IF_ERROR(AddCounter(sql::kCounterBatchesLanded, 1));
  TG_RETURN_IF_ERROR(AddCounter(sql::kCounterEvents, static_cast<int64_t>(batch.events.size())));
  TG_RETURN_IF_ERROR(
      AddCounter(sql::kCounterWindowResults, static_cast<int64_t>(batch.window_results.size())));
  outcome->events = batch.events.size();
  outcome->window_results = batch.window_results.size();
  return Status::Ok();
}

Status SqliteLandingStore::InsertEvents(const schema::DecodedBatch& batch) {
  sqlite3* db = db_.get();
  sqlite3_stmt* st = stmt_->insert_event.get();
  for (const schema::DecodedEvent& e : batch.events) {
    ResetOnExit reset(st);
    TG_RETURN_IF_ERROR(CheckBinds(
        db,
        {BindText(st, 1, batch.agent_id), BindU64(st, 2, e.seq), BindText(st, 3, e.topic),
         BindText(st, 4, e.device_id), sqlite3_bind_int64(st, 5, e.event_time),
         sqlite3_bind_int64(st, 6, e.ingest_time), sqlite3_bind_int64(st, 7, e.flags),
         BindText(st, 8, e.payload), BindText(st, 9, batch.batch_id)},
        "bind event"));
    TG_RETURN_IF_ERROR(StepDone(db, st, "insert event", e.seq));
  }
  return Status::Ok();
}

Status SqliteLandingStore::UpsertWindowResults(const schema::DecodedBatch& batch) {
  sqlite3* db = db_.get();
  sqlite3_stmt* st = stmt_->upsert_aggregate.get();
  for (const schema::DecodedWindowResult& w : batch.window_results) {
    std::string measures;
    schema::AppendMeasuresJson(&measures, w.measures);
    ResetOnExit reset(st);
    TG_RETURN_IF_ERROR(CheckBinds(
        db,
        {BindText(st, 1, batch.agent_id), BindText(st, 2, w.name), BindText(st, 3, w.group_key),
         sqlite3_bind_int64(st, 4, w.window_start), sqlite3_bind_int64(st, 5, w.window_end),
         sqlite3_bind_int64(st, 6, w.revision), sqlite3_bind_int(st, 7, w.final ? 1 : 0),
         BindText(st, 8, measures), BindText(st, 9, batch.batch_id)},
        "bind window result"));
    TG_RETURN_IF_ERROR(StepDone(db, st, "upsert window result", w.seq));
  }
  return Status::Ok();
}

Status SqliteLandingStore::AddCounter(const char* name, int64_t delta) {
  sqlite3_stmt* st = stmt_->add_counter.get();
  ResetOnExit reset(st);
  TG_RETURN_IF_ERROR(CheckBinds(
      db_.get(), {BindText(st, 1, name), sqlite3_bind_int64(st, 2, delta)}, "bind counter"));
  return StepDone(db_.get(), st, std::string("update counter ") + name);
}

Result<LandingCounts> SqliteLandingStore::Counts() {
  std::lock_guard<std::mutex> lock(mu_);
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql::kSelectCounters));
  LandingCounts counts;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string name = ColumnText(st.get(), 0);
    int64_t value = sqlite3_column_int64(st.get(), 1);
    if (name == sql::kCounterBatchesLanded) counts.batches_landed = value;
    if (name == sql::kCounterBatchesDuplicate) counts.batches_duplicate = value;
    if (name == sql::kCounterEvents) counts.events = value;
    if (name == sql::kCounterWindowResults) counts.window_results = value;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_.get(), rc, "read counters");
  return counts;
}

Status SqliteLandingStore::ForEachEvent(const std::function<Status(const LandedEvent&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql::kSelectEvents));
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    LandedEvent e;
    e.agent_id = ColumnText(st.get(), 0);
    e.seq = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 1));
    e.topic = ColumnText(st.get(), 2);
    e.device_id = ColumnText(st.get(), 3);
    e.event_time = sqlite3_column_int64(st.get(), 4);
    e.ingest_time = sqlite3_column_int64(st.get(), 5);
    e.flags = static_cast<uint32_t>(sqlite3_column_int64(st.get(), 6));
    e.payload = ColumnText(st.get(), 7);
    TG_RETURN_IF_ERROR(fn(e));
  }
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db_.get(), rc, "read events");
}

Status SqliteLandingStore::ForEachAggregate(
    const std::function<Status(const LandedAggregate&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql::kSelectAggregates));
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    LandedAggregate a;
    a.agent_id = ColumnText(st.get(), 0);
    a.name = ColumnText(st.get(), 1);
    a.group_key = ColumnText(st.get(), 2);
    a.window_start = sqlite3_column_int64(st.get(), 3);
    a.window_end = sqlite3_column_int64(st.get(), 4);
    a.revision = static_cast<uint32_t>(sqlite3_column_int64(st.get(), 5));
    a.final = sqlite3_column_int(st.get(), 6) != 0;
    a.measures_json = ColumnText(st.get(), 7);
    TG_RETURN_IF_ERROR(fn(a));
  }
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db_.get(), rc, "read aggregates");
}

Status SqliteLandingStore::UpsertAgent(const AgentRecord& a) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stmt_ == nullptr) return Internal(path_ + " is open read-only");
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql::kUpsertAgent));
  TG_RETURN_IF_ERROR(CheckBinds(
      db_.get(),
      {BindText(st.get(), 1, a.instance_uid), BindText(st.get(), 2, a.agent_id),
       sqlite3_bind_int64(st.get(), 3, a.last_seen), BindU64(st.get(), 4, a.sequence_num),
       BindText(st.get(), 5, a.config_status), BindText(st.get(), 6, a.config_hash),
       BindText(st.get(), 7, a.config_error), sqlite3_bind_int(st.get(), 8, a.healthy ? 1 : 0),
       BindText(st.get(), 9, a.health_status), BindText(st.get(), 10, a.effective_config_hash)},
      "bind agent"));
  return StepDone(db_.get(), st.get(), "upsert agent");
}

Result<std::optional<AgentRecord>> SqliteLandingStore::FindAgent(const std::string& instance_uid) {
  std::lock_guard<std::mutex> lock(mu_);
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql::kSelectAgent));
  TG_RETURN_IF_ERROR(CheckBinds(db_.get(), {BindText(st.get(), 1, instance_uid)}, "bind agent"));
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return std::optional<AgentRecord>();
  if (rc != SQLITE_ROW) return SqliteError(db_.get(), rc, "read agent");
  return std::optional<AgentRecord>(ReadAgent(st.get()));
}

Status SqliteLandingStore::ForEachAgent(const std::function<Status(const AgentRecord&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    TG_ASSIGN_OR_RETURN(StmtPtr has, PrepareStmt(db_.get(), sql::kHasAgentsTable));
    int rc = sqlite3_step(has.get());
    if (rc == SQLITE_DONE) return Status::Ok();  // a read-only store of schema version < 3
    if (rc != SQLITE_ROW) return SqliteError(db_.get(), rc, "look for the agents table");
  }
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql::kSelectAgents));
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) TG_RETURN_IF_ERROR(fn(ReadAgent(st.get())));
  return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db_.get(), rc, "read agents");
}

Result<int64_t> SqliteLandingStore::PragmaInt(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string sql = "PRAGMA " + std::string(name);
  TG_ASSIGN_OR_RETURN(StmtPtr st, PrepareStmt(db_.get(), sql.c_str()));
  int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) return SqliteError(db_.get(), rc, sql);
  return sqlite3_column_int64(st.get(), 0);
}

WalCheckpointStats SqliteLandingStore::CheckpointStats() const {
  return checkpointer_ != nullptr ? checkpointer_->stats() : WalCheckpointStats{};
}

}  // namespace tidegate::collector
