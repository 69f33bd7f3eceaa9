// SPDX-License-Identifier: Apache-2.0
// SqliteStore: the agent's durable buffer, one SQLite database in WAL mode in state_dir.
// Records (raw events and window results) are appended in group-committed transactions,
// read oldest-first per priority by the uplink, recorded as in-flight batches so a restart
// resends exactly the same batch, and deleted only on acknowledgement.
// The store also keeps itself within buffer.max_bytes / max_events / max_age (see
// store_limits.h and store_bounds.cc): the writer measures used pages inside each commit and
// drops by policy, or reports "full" for when_full: block, and checkpoints the WAL itself.
// Thread-safety: every method may be called from any thread. Writes share one connection
// under write_mu_; reads use a second connection under read_mu_, so the uplink can read
// while the writer commits (WAL).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/commit_stage.h"
#include "buffer/sqlite_util.h"
#include "buffer/store_limits.h"
#include "common/age_clock.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/duration_histogram.h"
#include "common/event.h"
#include "common/status.h"

namespace tidegate::buffer {

struct StoreOptions {
  std::string state_dir = {};         // created if missing; holds buffer.db
  SyncMode sync = SyncMode::kNormal;  // full: fsync the WAL at every commit
  // buffer.max_bytes: database + WAL on disk (store_limits.h splits it). 0: unbounded.
  uint64_t max_bytes = 0;
  uint64_t max_events = 0;  // records (raw events + window results); 0: no count bound
  // Raw events older than this on the age line (AgeClock: elapsed time while the agent
  // runs, never a wall-clock step) are deleted unsent; 0: keep.
  Millis max_age{0};
  WhenFull when_full = WhenFull::kDropOldest;
  Clock* clock = nullptr;  // under the age clock (max_age, dedup expiry); null = RealClock()
};

// A message that could not become an event. Never holds payload bytes.
struct DeadLetter {
  int64_t time_ms = 0;
  std::string topic;        // made printable by the caller if it was not UTF-8
  std::string_view reason;  // a static name, e.g. "malformed_json"
  uint64_t size = 0;
  // What was wrong, without values: e.g. "schema=thermo v1 path=/temperature rule=type
  // want=number" for schema_violation; "" for most reasons.
  std::string detail;
};

// The sealed data key of one privacy key epoch (see filters/envelope.h).
struct SealedKeyEpoch {
  uint64_t epoch = 0;
  std::string sealed;
  int64_t created_at_ms = 0;
};

struct BufferedRecord {
  uint64_t seq = 0;
  Event event;
};

// A contiguous seq range of one priority sent as one batch.
struct BatchRange {
  std::string batch_id;
  int priority = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint32_t count = 0;
  int64_t created_at_ms = 0;
  // What its records take in the database (StoredBytes); kept in memory only: the store
  // fills it in MarkInflight and when it loads the batches left in flight.
  uint64_t stored_bytes = 0;
};

struct StoreStats {
  uint64_t records = 0;          // raw events + window results buffered
  uint64_t events = 0;           // raw events buffered
  int64_t oldest_ingest_ms = 0;  // 0 when no raw event is buffered
  int64_t oldest_age_ms = 0;     // its age stamp (AgeClock age line), when events > 0
  uint64_t inflight_batches = 0;
  uint64_t dead_letters = 0;
  uint64_t rejected_batches = 0;
  uint64_t db_bytes = 0;             // buffer.db on disk
  uint64_t wal_bytes = 0;            // buffer.db-wal on disk
  uint64_t used_bytes = 0;           // pages in use (page_count - freelist) x page_size
  uint64_t data_budget_bytes = 0;    // the bound on used_bytes; 0 = unbounded
  uint64_t max_bytes = 0;            // buffer.max_bytes in force (SetBounds changes it)
  bool full = false;                 // when_full block: ingest is paused
  uint64_t checkpoints = 0;          // WAL checkpoints run by the writer
  uint64_t checkpoint_failures = 0;  // ... that could not complete
  // The most WAL one write transaction added since open (frames x page size): StoreLimits
  // reserves commit_headroom_bytes for it.
  uint64_t max_transaction_wal_bytes = 0;
  std::map<std::string, int64_t> counters;  // persisted counters, e.g. dead_letter.<reason>
};

class SqliteStore {
 public:
  // Opens or creates state_dir/buffer.db and migrates it. A database that is corrupt or not
  // a database is moved aside to buffer.db.corrupt-<unix ms> (with its -wal and -shm) and
  // replaced by a fresh one; *quarantined (if given) then names the moved file.
  static Result<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options,
                                                   std::string* quarantined = nullptr);
  // Opens state_dir/buffer.db read-only, for Stats() only (`tidegate buffer stats`): creates,
  // migrates and repairs nothing, and reads alongside a running agent (WAL). kNotFound,
  // naming the path, when there is no buffer.
  static Result<std::unique_ptr<SqliteStore>> OpenReadOnly(const std::string& state_dir);
  ~SqliteStore();

  // Random id of this database, made at creation: seqs are unique within it.
  const std::string& buffer_id() const { return buffer_id_; }
  // The key of ingest dedup's hash (filters/dedup_key.h), random per buffer, and the age
  // (AgeClock age_ms) until which keys of the legacy hash may still be in the window (0: none).
  const std::array<uint8_t, 16>& dedup_hash_key() const { return dedup_hash_key_; }
  int64_t dedup_legacy_until() const { return dedup_legacy_until_; }
  const std::string& path() const { return path_; }
  // The database moved aside at Open (empty if none): an alarm for /metrics.
  const std::string& quarantined() const { return quarantined_; }
  // The limits derived from max_bytes at Open (SetBounds changes the store's own copy).
  const StoreLimits& limits() const { return limits_; }
  // A live config apply of buffer.max_bytes, max_events, max_age and when_full (the rest of
  // StoreOptions is ignored): enforced at once by an empty commit, so a lower bound drops
  // the oldest raw events (drop_oldest) or pauses ingest (block) as at any commit; nothing in
  // flight is dropped, nothing buffered is touched by a raised bound. The WAL's checkpoint
  // threshold follows max_bytes; the writer's staging area keeps the size it had at Open.
  // An error (the WAL pragma) changes nothing; a failing enforcement commit is retried by the
  // next commit.
  Status SetBounds(const StoreOptions& bounds);
  // Step-free time for max_age, dedup expiry and window state (see common/age_clock.h). Its
  // age line continues from the value persisted in meta.age_ms (at every commit, and at least
  // every kAgePersistIntervalMs by Maintain): the agent's downtime does not count.
  AgeClock& age_clock() const { return *age_clock_; }
  // Durations of the writer's WAL checkpoints (successful or not). Any thread.
  const DurationHistogram& checkpoint_durations() const { return checkpoint_durations_; }

  // when_full block: called with true when the buffer reaches its high mark and with false
  // once acknowledgements bring it below the low mark, on the thread that crossed it (the
  // writer or the uplink), with the store's write lock held: the callback must not call
  // back into the store. Returns the current state. Pass {} to remove it.
  bool SetFullCallback(std::function<void(bool full)> callback);
  bool full() const { return full_.load(std::memory_order_relaxed); }

  // Time-driven upkeep for when nothing is appended: max_age expiry, dedup key expiry and
  // the WAL checkpoint. Cheap when nothing is due. Writer thread, idle ticks.
  Status Maintain();

  // The value of a PRAGMA on the write connection (e.g. "synchronous", "page_size").
  Result<int64_t> PragmaInt(std::string_view name);
  // Caps the database at `pages` pages (PRAGMA max_page_count; commits past it fail with
  // kResourceExhausted like a full disk). For tests of storage faults.
  Status SetMaxPageCount(uint64_t pages);
  // While set, every commit of the writer asks `fail` first and is rolled back when it
  // returns true (SQLite's commit hook; the COMMIT then fails like an I/O error). For tests
  // of storage faults that must hit one transaction of several; nullptr removes it.
  void SetCommitFault(std::function<bool()> fail);
  // Called by ReadNext between its snapshot and the reservation of the rows it read (under
  // read_mu_ only, so it may write): lets a test commit a drop in that gap. nullptr removes it.
  void SetAfterReadSnapshot(std::function<void()> hook);

  // Appends records (assigning increasing seqs; those with store == false only leave their
  // dedup key), dead letters, counter increments, sealed keys and aggregation state writes in
  // one transaction. On failure nothing is written and the caller keeps the data.
  Status Append(const std::vector<Event>& records, const std::vector<DeadLetter>& dead_letters,
                const std::map<std::string, int64_t>& counter_deltas,
                const std::vector<SealedKeyEpoch>& key_epochs = {},
                const std::vector<StateWrite>& state = {});

  // Every agg_state row, in key order (the aggregator's checkpoint, read at start).
  Result<std::vector<std::pair<std::string, std::string>>> LoadState();

  // Dedup keys still valid at age_ms (age_clock()), in the order recorded, which is oldest
  // expiry first while dedup.window stays the same (ingest side, at start). A key may be
  // listed twice; the later expiry counts.
  Result<std::vector<std::pair<uint64_t, int64_t>>> LoadDedupKeys(int64_t age_ms);
  // The same keys handed to fn one by one, in the same order, without a copy of them all
  // (a million keys are 16 MB as a vector). DedupKeyRows() sizes the receiver beforehand.
  // A damaged dedup_chunks row is skipped: the others are still read, then kCorruption.
  Status ForEachDedupKey(int64_t age_ms,
                         const std::function<void(uint64_t key, int64_t expires_at)>& fn);
  // Keys in dedup_chunks, expired ones not deleted yet included: at least the keys
  // ForEachDedupKey gives.
  int64_t DedupKeyRows();

  // The sealed data key of an epoch (uplink side), kNotFound if unknown.
  Result<std::string> SealedKeyOf(uint64_t epoch);

  // Batches recorded in flight and not yet acknowledged, highest priority first.
  Result<std::vector<BatchRange>> LoadInflight();
  // Up to max_records of the highest priority that has records not yet in flight, oldest
  // first, stopping before max_bytes of payload (but always at least one record). Records of
  // batches marked in flight are skipped, so the next batch can be read and encoded while
  // the previous one is on the wire (in-flight batches are always the oldest records of
  // their priority: seqs only grow). Under a drop_oldest bound, the batches in flight hold at
  // most an eighth of it (StoreLimits): past that ReadNext returns nothing until an
  // acknowledgement frees room; with nothing in flight it always returns a record.
  Result<std::vector<BufferedRecord>> ReadNext(size_t max_records, size_t max_bytes);
  // The records of an in-flight batch (those still present).
  Result<std::vector<BufferedRecord>> ReadRange(const BatchRange& range);
  // The same two into *rows, reusing the strings of the records it holds: a caller that keeps
  // one vector across batches (the uplink) then allocates nothing per record. On error *rows
  // is unspecified.
  Status ReadNext(size_t max_records, size_t max_bytes, std::vector<BufferedRecord>* rows);
  Status ReadRange(const BatchRange& range, std::vector<BufferedRecord>* rows);

  // Records the batch as in flight: its rows are never dropped by the size policy or max_age
  // (the receiver dedups by batch id, so a batch must keep its records until acknowledged).
  // The rows ReadNext returned last are protected the same way until the next ReadNext.
  Status MarkInflight(const BatchRange& range);
  // Deletes the batch's records and its in-flight row.
  Status Ack(const BatchRange& range);
  // Records a permanent refusal, then deletes like Ack.
  Status Reject(const BatchRange& range, int http_status, std::string_view reason);

  Result<StoreStats> Stats();

 private:
  SqliteStore() = default;
  Status Init(const StoreOptions& options);
  Status Migrate();
  Status MoveEventsInChunks();  // between schema versions 9 and 10
  Status LoadIdentity();
  Status StartAgeClock();
  Status LoadDedupHashKey();
  Status PrepareStatements();
  Status DeleteBatch(const BatchRange& range);  // sets deleted_
  void AfterDelete(const BatchRange& range);    // after an Ack or Reject committed
  Status ReadRows(Stmt& stmt, std::vector<BufferedRecord>* rows);
  // *stored_bytes: what the rows kept take in the database (StoredBytes, summed).
  Status ReadNextLocked(size_t max_records, size_t max_bytes, uint64_t max_stored_bytes,
                        std::vector<BufferedRecord>* rows, uint64_t* stored_bytes);
  bool FitInflightBudget(size_t* max_records, uint64_t* max_stored_bytes) const;
  // The last seq recorded in flight, by priority (protect_mu_ taken here).
  std::map<int64_t, uint64_t> LastInflightSeqs();
  Status LoadCounts();
  static Result<int64_t> LoadRecordCount(sqlite3* db, const std::string& path);
  // Sets the in-flight budgets (drop_oldest only) and data_budget_ from limits_ and options_.
  void MirrorBounds();
  // What range's records take in the database. REQUIRES: write_mu_ held (or Init).
  Result<uint64_t> RangeStoredBytes(const BatchRange& range);

  // store_bounds.cc: all with write_mu_ held, inside a write transaction unless noted.
  struct Deltas {  // applied to the in-memory counts only once the transaction commits
    int64_t records = 0;
    std::map<std::string, int64_t> drops;  // counter name -> rows
  };
  Status PrepareBoundStatements();
  Result<uint64_t> UsedBytes();
  bool Protected(int64_t priority, uint64_t seq) const;  // protect_mu_ held
  // Moves *priority to the next higher priority that has records; false when none is left.
  Result<bool> NextPriority(int64_t* priority);  // write_mu_ held
  // Called per row of a scan_priority_ chunk with (seq, kind, age_ms); false stops the chunk.
  using ScanVisitor = std::function<bool(int64_t seq, int64_t kind, int64_t age_ms)>;
  // Visits up to kScanChunk rows of `priority` after seq *after, which becomes the last seq
  // visited; returns how many rows were visited.
  Result<int64_t> ScanChunk(int64_t priority, int64_t* after, const ScanVisitor& visit);
  // Deletes the rows with ids (sql::RecordId) `victims`, counted as dropped under `counter`.
  Status DeleteVictims(const std::vector<int64_t>& victims, const std::string& counter, Deltas& d);
  // The pages one transaction's deletes (drops, expiry) may dirty, estimated from the
  // victims' seqs: a victim within a page's worth of rows after the previous one shares its
  // page (or the next), one further away dirties a page of its own (an alarm among dropped
  // telemetry, a window result among kept ones), and a window result also its window_keys
  // entry's page. Counted in 1/rows_per_page of a page.
  struct DropPages {
    uint64_t rows_per_page = 1;
    uint64_t left = std::numeric_limits<uint64_t>::max();
    int64_t priority = std::numeric_limits<int64_t>::min();  // of last_seq
    int64_t last_seq = -1;                                   // -1: the next victim starts a page
    bool spent = false;  // a victim did not fit: the transaction's deletes end there
    bool Spend(int64_t seq, RecordKind kind);
    void Enter(int64_t next_priority);  // the victims that follow are of next_priority
  };
  uint64_t BytesPerRow(uint64_t used_bytes, const Deltas& d) const;
  // One transaction's budget (in it: UsedBytes, and the record count with d applied).
  Result<DropPages> DropPageBudget(const Deltas& d);
  Status DropVictims(RecordKind kind, uint64_t want, const char* reason, Deltas& d,
                     DropPages& pages, uint64_t* dropped);
  // Enforces max_events, then drops until the used pages fit data_bytes or `pages` is
  // spent: then *over is set and DeleteInChunks goes on after the commit.
  Status EnforceBounds(Deltas& d, DropPages& pages, bool* over);
  // After a commit that left expired events (max_age) or the buffer over data_bytes: more
  // deletes, each transaction within the page budget and followed by the checkpoint check.
  // Best effort (logged): the next commit or Maintain goes on.
  void DeleteInChunks();
  Status DeleteChunk(Deltas& d, bool* expiry_over, bool* drops_over);
  // store_revisions.cc. After Append committed `records`: deletes the buffered revisions
  // their window results supersede, except protected ones, counted in
  // window_results_superseded, in transactions of at most SupersedeChunkRows() rows, each
  // followed by the checkpoint check. Best effort: a failure is logged, not returned (the
  // records are committed; a later revision or the upload removes what is left).
  Status PrepareRevisionStatements();
  void SupersedeRevisions(const std::vector<Event>& records);
  // (seq, priority) of the buffered revisions `result` supersedes; priority -1 for a stale
  // window_keys row (its record is gone).
  Status FindSuperseded(const Event& result, std::vector<std::pair<int64_t, int64_t>>* victims);
  Status DeleteSuperseded(const std::pair<int64_t, int64_t>* victims, size_t n);
  Status DeleteUnprotected(const std::pair<int64_t, int64_t>* victims, size_t n, Deltas& d);
  size_t SupersedeChunkRows() const;
  // window_keys follows the window results: written with them, deleted with them (a
  // batch's range, or rows one by one). In the caller's transaction.
  Status WriteWindowKey(uint64_t seq, const Event& result);
  Status DeleteWindowKeys(const BatchRange& range, uint64_t first_seq, uint64_t last_seq);
  Status DeleteWindowKey(int64_t seq);
  Status ExpireMaxAge(int64_t age_ms, Deltas& d, DropPages& pages, bool* owed);
  Status BoundDedupKeys(int64_t age_ms, Deltas& d);
  Status CutDedupChunk(int64_t id, int64_t count, int64_t drop, int64_t* rows, int64_t* trimmed);
  Status PersistAge(int64_t age_ms);
  // d's drop counters and the record count it leaves (meta.records), in the transaction.
  Status WriteDeltas(const Deltas& d);
  Status PersistRecords(int64_t delta);  // meta.records = records_ + delta
  // Append's steps, in its transaction (write_mu_ held). WriteRecords assigns seqs from seq
  // on; BoundAndCommit persists next_seq, runs the bounds (locking protect) and commits.
  Status WriteKeyEpochs(const std::vector<SealedKeyEpoch>& key_epochs);
  Status WriteRecords(const std::vector<Event>& records, int64_t now, uint64_t& seq, Deltas& d);
  Status WriteState(const std::vector<StateWrite>& state);
  Status WriteDeadLetters(const std::vector<DeadLetter>& dead_letters);
  Status WriteCounters(const std::map<std::string, int64_t>& counter_deltas);
  Status BoundAndCommit(uint64_t next_seq, int64_t now, std::unique_lock<std::mutex>& protect,
                        Deltas& d);
  void ApplyDeltas(const Deltas& d);
  void AfterCommit();  // checkpoint when due, update the full state (outside a transaction)
  // After a commit: wait this long for a reader to leave the WAL (SettleWal waits longer).
  static constexpr int kCheckpointBusyMs = 200;
  void CheckpointIfDue(int busy_ms = kCheckpointBusyMs);
  void SettleWal();  // before a write: finish a checkpoint the last commit could not
  Status BeginWrite(std::string_view what);  // SettleWal, then BEGIN IMMEDIATE
  void UpdateFull();
  // The WAL file is cut back to the checkpoint threshold of limits when it is restarted after a
  // checkpoint (journal_size_limit).
  Status SetWalSizeLimit(const StoreLimits& limits);
  Clock& clock() const { return options_.clock ? *options_.clock : RealClock(); }

  std::string path_;
  std::string buffer_id_;
  std::string quarantined_;
  std::array<uint8_t, 16> dedup_hash_key_{};
  int64_t dedup_legacy_until_ = 0;
  StoreOptions options_;
  StoreLimits limits_;  // guarded by write_mu_ (SetBounds); data_budget_ mirrors data_bytes
  std::atomic<uint64_t> data_budget_{0};
  std::atomic<uint64_t> max_bytes_{0};  // options_.max_bytes, for Stats

  std::mutex write_mu_;
  DbHandle write_db_;                                                        // guarded by write_mu_
  std::function<bool()> commit_fault_;                                       // guarded by write_mu_
  uint64_t next_seq_ = 1;                                                    // guarded by write_mu_
  Stmt insert_event_, insert_dead_letter_, add_counter_, set_meta_;          // guarded by write_mu_
  Stmt delete_range_, insert_inflight_, delete_inflight_, insert_rejected_;  // write_mu_
  Stmt range_stored_bytes_;                                                  // write_mu_
  Stmt insert_key_epoch_, insert_dedup_chunk_;                               // guarded by write_mu_
  Stmt dedup_oldest_first_, delete_dedup_through_, get_dedup_chunk_, set_dedup_chunk_;  // write_mu_
  Stmt put_state_, erase_state_;                        // guarded by write_mu_
  Stmt next_priority_, scan_priority_, delete_record_;  // guarded by write_mu_
  Stmt page_count_, freelist_count_;                    // guarded by write_mu_
  Stmt revisions_of_window_, insert_window_key_;        // guarded by write_mu_
  Stmt delete_window_key_, delete_window_key_range_;    // guarded by write_mu_
  int64_t dedup_rows_ = 0;  // guarded by write_mu_: keys in dedup_chunks
  int64_t deleted_ = 0;     // guarded by write_mu_: rows the last DeleteBatch removed
  static constexpr int64_t kMaintainIntervalMs = 1'000;  // max_age and dedup expiry period
  // While nothing commits, the age line is persisted this often: a crash loses at most this
  // much age, and an idle agent writes one small page a minute, not one a second.
  static constexpr int64_t kAgePersistIntervalMs = 60'000;
  uint64_t page_size_ = 4096;
  int64_t last_maintain_ms_ = 0;     // guarded by write_mu_: age line
  int64_t last_age_persist_ms_ = 0;  // guarded by write_mu_: age line
  std::unique_ptr<AgeClock> age_clock_;
  int wal_frames_ = 0;             // guarded by write_mu_: set by the WAL hook after a commit
  bool wal_frames_known_ = false;  // guarded by write_mu_
  std::atomic<uint64_t> max_transaction_wal_bytes_{0};  // written by the WAL hook
  std::function<void(bool)> full_callback_;             // guarded by write_mu_
  std::atomic<bool> full_{false};
  std::atomic<int64_t> records_{0};  // rows in events, kept by the writer
  std::atomic<uint64_t> used_bytes_{0};
  std::atomic<uint64_t> checkpoints_{0}, checkpoint_failures_{0};
  DurationHistogram checkpoint_durations_;  // written by the writer thread only

  // Seq ranges the size policy must not drop: in-flight batches and ReadNext's last answer.
  mutable std::mutex protect_mu_;      // after write_mu_ or read_mu_, never before
  std::vector<BatchRange> protected_;  // guarded by protect_mu_
  BatchRange reserved_;                // guarded by protect_mu_ (count 0: none)
  // Guarded by write_mu_: what a transaction's page budget left for DeleteInChunks.
  bool drops_owed_ = false;       // the buffer is over data_bytes
  bool expiry_owed_ = false;      // expired events (max_age) are left
  uint64_t drop_generation_ = 0;  // guarded by protect_mu_: bumps with each drop
  // Mirrors of the bounds for ReadNext (which does not take write_mu_); 0 = unbounded.
  std::atomic<uint64_t> inflight_budget_bytes_{0}, inflight_budget_records_{0};

  std::mutex read_mu_;
  DbHandle read_db_;                           // guarded by read_mu_
  std::function<void()> after_read_snapshot_;  // guarded by read_mu_
  Stmt top_priority_, priority_below_, select_from_priority_, select_range_,
      select_inflight_;    // read_mu_
  Stmt select_key_epoch_;  // read_mu_
};

}  // namespace tidegate::buffer
