// SPDX-License-Identifier: Apache-2.0
// SqliteLandingStore: the LandingStore in a SQLite database DIR/landing.db (WAL), the
// collector's default. Opening for writing creates the schema or migrates an older one
// (sqlite_landing_sql.h). Thread-safe: every public method takes the store's mutex.
// Land is group-committed: batches that arrive while one transaction is landing wait in a
// queue, and the first of them then lands them all (up to kMaxGroup) in one transaction, each
// in its own savepoint; every caller returns only once its batch is committed (or failed).
// A store open for writing checkpoints its WAL on a thread of its own (wal_checkpointer.h).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store/landing_store.h"
#include "collector/store/wal_checkpointer.h"
#include "common/clock.h"
#include "common/status.h"

struct sqlite3;

namespace tidegate::collector {

// The database file inside the data directory.
inline constexpr char kLandingDbName[] = "landing.db";

class SqliteLandingStore final : public LandingStore {
 public:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

  // Opens or creates data_dir/landing.db for writing, migrating an older schema.
  // REQUIRES: data_dir exists. `clock` stamps received_at and must outlive the store.
  // kIOError if SQLite cannot open it, kCorruption if it is not a landing database,
  // kInvalidArgument if a newer collector made it.
  static Result<std::unique_ptr<SqliteLandingStore>> Open(const std::string& data_dir,
                                                          Clock& clock);

  // Opens an existing data_dir/landing.db read-only (for dump, possibly while a server
  // writes). kNotFound if the directory or the database does not exist.
  static Result<std::unique_ptr<SqliteLandingStore>> OpenReadOnly(const std::string& data_dir);

  ~SqliteLandingStore() override;

  // Batches landed in one transaction at most.
  static constexpr size_t kMaxGroup = 16;

  Result<LandOutcome> Land(const schema::DecodedBatch& batch) override;
  Result<LandingCounts> Counts() override;
  Status ForEachEvent(const std::function<Status(const LandedEvent&)>& fn) override;
  Status ForEachAggregate(const std::function<Status(const LandedAggregate&)>& fn) override;
  Status UpsertAgent(const AgentRecord& agent) override;
  Result<std::optional<AgentRecord>> FindAgent(const std::string& instance_uid) override;
  Status ForEachAgent(const std::function<Status(const AgentRecord&)>& fn) override;

  // The value of PRAGMA `name` on the store's connection (for tests: pragmas such as
  // synchronous are per connection, another connection cannot see them).
  Result<int64_t> PragmaInt(std::string_view name);

  // The WAL checkpoints so far (all zero when opened read-only).
  WalCheckpointStats CheckpointStats() const;

 private:
  struct Statements;
  struct PendingLand;  // a Land call waiting in queue_

  SqliteLandingStore(DbPtr db, Clock* clock, std::string path);
  Status Prepare();
  Status LandLocked(const schema::DecodedBatch& batch, LandOutcome* outcome);
  // Lands the group in one transaction, setting each one's result (mu_ taken here).
  void LandGroup(const std::vector<PendingLand*>& group);
  // One batch of a group in its own savepoint: its failure leaves the others. mu_ held.
  Result<LandOutcome> LandInSavepoint(const schema::DecodedBatch& batch);
  Status InsertEvents(const schema::DecodedBatch& batch);
  Status UpsertWindowResults(const schema::DecodedBatch& batch);
  Status AddCounter(const char* name, int64_t delta);

  std::mutex queue_mu_;  // before mu_, never after
  std::condition_variable queue_cv_;
  std::deque<PendingLand*> queue_;  // guarded by queue_mu_; the front one leads the next group
  std::mutex mu_;
  DbPtr db_;                          // guarded by mu_
  std::unique_ptr<Statements> stmt_;  // guarded by mu_; null when opened read-only
  Clock* clock_;                      // null when opened read-only
  const std::string path_;
  std::unique_ptr<WalCheckpointer> checkpointer_;  // null when opened read-only
};

}  // namespace tidegate::collector
