// SPDX-License-Identifier: Apache-2.0
// SqliteStore: the agent's durable buffer, one SQLite database in WAL mode in state_dir.
// Records (raw events and window results) are appended in group-committed transactions,
// read oldest-first per priority by the uplink, recorded as in-flight batches so a restart
// resends exactly the same batch, and deleted only on acknowledgement.
// Thread-safety: every method may be called from any thread. Writes share one connection
// under write_mu_; reads use a second connection under read_mu_, so the uplink can read
// while the writer commits (WAL).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/commit_stage.h"
#include "buffer/sqlite_util.h"
#include "common/config.h"
#include "common/event.h"
#include "common/status.h"

namespace tidegate::buffer {

struct StoreOptions {
  std::string state_dir;              // created if missing; holds buffer.db
  SyncMode sync = SyncMode::kNormal;  // full: fsync the WAL at every commit
};

// A message that could not become an event. Never holds payload bytes.
struct DeadLetter {
  int64_t time_ms = 0;
  std::string topic;        // made printable by the caller if it was not UTF-8
  std::string_view reason;  // a static name, e.g. "malformed_json"
  uint64_t size = 0;
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
};

struct StoreStats {
  uint64_t records = 0;          // raw events + window results buffered
  uint64_t events = 0;           // raw events buffered
  int64_t oldest_ingest_ms = 0;  // 0 when no raw event is buffered
  uint64_t inflight_batches = 0;
  uint64_t dead_letters = 0;
  uint64_t rejected_batches = 0;
  uint64_t db_bytes = 0;                    // buffer.db on disk
  uint64_t wal_bytes = 0;                   // buffer.db-wal on disk
  std::map<std::string, int64_t> counters;  // persisted counters, e.g. dead_letter.<reason>
};

class SqliteStore {
 public:
  // Opens or creates state_dir/buffer.db and migrates it. A database that is corrupt or not
  // a database is moved aside to buffer.db.corrupt-<unix ms> (with its -wal and -shm) and
  // replaced by a fresh one; *quarantined (if given) then names the moved file.
  static Result<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options,
                                                   std::string* quarantined = nullptr);
  ~SqliteStore();

  // Random id of this database, made at creation: seqs are unique within it.
  const std::string& buffer_id() const { return buffer_id_; }
  const std::string& path() const { return path_; }

  // Appends records (assigning increasing seqs; those with store == false only leave their
  // dedup key), dead letters, counter increments, sealed keys and aggregation state writes in
  // one transaction. On failure nothing is written and the caller keeps the data.
  Status Append(const std::vector<Event>& records, const std::vector<DeadLetter>& dead_letters,
                const std::map<std::string, int64_t>& counter_deltas,
                const std::vector<SealedKeyEpoch>& key_epochs = {},
                const std::vector<StateWrite>& state = {});

  // Every agg_state row, in key order (the aggregator's checkpoint, read at start).
  Result<std::vector<std::pair<std::string, std::string>>> LoadState();

  // Dedup keys still valid at now_ms, oldest expiry first (ingest side, at start).
  Result<std::vector<std::pair<uint64_t, int64_t>>> LoadDedupKeys(int64_t now_ms);

  // The sealed data key of an epoch (uplink side), kNotFound if unknown.
  Result<std::string> SealedKeyOf(uint64_t epoch);

  // Batches recorded in flight and not yet acknowledged, highest priority first.
  Result<std::vector<BatchRange>> LoadInflight();
  // Up to max_records of the highest priority that has records, oldest first, stopping
  // before max_bytes of payload (but always at least one record).
  Result<std::vector<BufferedRecord>> ReadNext(size_t max_records, size_t max_bytes);
  // The records of an in-flight batch (those still present).
  Result<std::vector<BufferedRecord>> ReadRange(const BatchRange& range);

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
  Status LoadIdentity();
  Status PrepareStatements();
  Status DeleteBatch(const BatchRange& range);
  Result<std::vector<BufferedRecord>> ReadRows(Stmt& stmt);

  std::string path_;
  std::string buffer_id_;

  std::mutex write_mu_;
  DbHandle write_db_;                                                        // guarded by write_mu_
  uint64_t next_seq_ = 1;                                                    // guarded by write_mu_
  Stmt insert_event_, insert_dead_letter_, add_counter_, set_meta_;          // guarded by write_mu_
  Stmt delete_range_, insert_inflight_, delete_inflight_, insert_rejected_;  // write_mu_
  Stmt insert_key_epoch_, insert_dedup_key_, expire_dedup_keys_;
  Stmt put_state_, erase_state_;  // guarded by write_mu_
  uint64_t appends_ =
      0;  // guarded by write_mu_: expired dedup keys are purged periodically // write_mu_

  std::mutex read_mu_;
  DbHandle read_db_;  // guarded by read_mu_
  Stmt top_priority_, select_from_priority_, select_range_, select_inflight_;  // read_mu_
  Stmt select_key_epoch_;                                                      // read_mu_
};

}  // namespace tidegate::buffer
