// SPDX-License-Identifier: Apache-2.0
// LandingStore: the collector's SQLite landing database (DIR/landing.db, WAL). It lands a
// decoded batch in one transaction, deduplicating by batch id, upserts window results
// keeping the highest revision, keeps persistent counters, and streams rows for `dump`.
// Thread-safe: every public method takes the store's mutex (httplib calls from a pool).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "schema/batch_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tidegate::collector {

// The database file inside the data directory.
inline constexpr char kLandingDbName[] = "landing.db";

struct LandOutcome {
  bool duplicate = false;     // the batch id was landed before; nothing was written
  size_t events = 0;          // events inserted (0 for a duplicate)
  size_t window_results = 0;  // window results upserted (0 for a duplicate)
};

// Persisted counts (they survive restarts).
struct LandingCounts {
  int64_t batches_landed = 0;
  int64_t batches_duplicate = 0;
  int64_t events = 0;
  int64_t window_results = 0;
};

struct LandedEvent {
  std::string agent_id;
  uint64_t seq = 0;
  std::string topic;
  std::string device_id;
  int64_t event_time = 0;
  int64_t ingest_time = 0;
  uint32_t flags = 0;
  std::string payload;
};

struct LandedAggregate {
  std::string agent_id;
  std::string name;
  std::string group_key;
  int64_t window_start = 0;
  int64_t window_end = 0;
  uint32_t revision = 0;
  bool final = false;
  std::string measures_json;  // {"<field>":{"<stat>":value,...}}, already rendered
};

class LandingStore {
 public:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

  // Opens or creates data_dir/landing.db for writing. REQUIRES: data_dir exists. `clock`
  // stamps received_at and must outlive the store. kIOError if SQLite cannot open it,
  // kCorruption if it is not a landing database, kInvalidArgument if a newer collector made it.
  static Result<std::unique_ptr<LandingStore>> Open(const std::string& data_dir, Clock& clock);

  // Opens an existing data_dir/landing.db read-only (for dump, possibly while a server
  // writes). kNotFound if the directory or the database does not exist.
  static Result<std::unique_ptr<LandingStore>> OpenReadOnly(const std::string& data_dir);

  ~LandingStore();
  LandingStore(const LandingStore&) = delete;
  LandingStore& operator=(const LandingStore&) = delete;

  // Lands the batch atomically: either the batch id, all its events and window results and
  // the counters are committed, or nothing is. A batch id seen before is counted as a
  // duplicate and nothing else is written. Errors (kIOError, kResourceExhausted for a full
  // disk, kUnavailable when locked) leave the database unchanged; the sender should retry.
  Result<LandOutcome> Land(const schema::DecodedBatch& batch);

  Result<LandingCounts> Counts();

  // Calls fn for every event ordered by (agent_id, seq, arrival) or every aggregate ordered
  // by (agent_id, name, group_key, window_start). Stops at and returns fn's first error.
  Status ForEachEvent(const std::function<Status(const LandedEvent&)>& fn);
  Status ForEachAggregate(const std::function<Status(const LandedAggregate&)>& fn);

 private:
  struct Statements;

  LandingStore(DbPtr db, Clock* clock, std::string path);
  Status Prepare();
  Status LandLocked(const schema::DecodedBatch& batch, LandOutcome* outcome);
  Status InsertEvents(const schema::DecodedBatch& batch);
  Status UpsertWindowResults(const schema::DecodedBatch& batch);
  Status AddCounter(const char* name, int64_t delta);

  std::mutex mu_;
  DbPtr db_;                          // guarded by mu_
  std::unique_ptr<Statements> stmt_;  // guarded by mu_; null when opened read-only
  Clock* clock_;                      // null when opened read-only
  const std::string path_;
};

}  // namespace tidegate::collector
