// SPDX-License-Identifier: Apache-2.0
// PostgresLandingStore: the LandingStore in a PostgreSQL database (serve --store
// postgresql://...), so that several collectors can land into one database. One
// transaction per batch: the batch row first (ON CONFLICT DO NOTHING: no row inserted means
// a duplicate, and a concurrent landing of the same batch waits for the first one's commit),
// then all events, all window results and the counters, each one round trip (unnest of
// arrays, prepared statements). Connections come from a bounded pool and are remade after
// the server restarts; every database error is kUnavailable (retry), never a rejection.
// Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "collector/store/landing_store.h"
#include "collector/store/pg_pool.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidegate::collector {

class PostgresLandingStore final : public LandingStore {
 public:
  static constexpr size_t kDefaultMaxConnections = 8;

  // Connects, then creates the schema if missing (under an advisory lock, so collectors
  // starting at once create it once). kUnavailable if the server cannot be reached,
  // kInvalidArgument for a schema version a newer collector made. `clock` must outlive it.
  static Result<std::unique_ptr<PostgresLandingStore>> Open(
      const std::string& conninfo, Clock& clock, size_t max_connections = kDefaultMaxConnections);

  // For dump: no schema is created; kNotFound if nothing was ever landed in the database.
  static Result<std::unique_ptr<PostgresLandingStore>> OpenReadOnly(const std::string& conninfo);

  ~PostgresLandingStore() override;

  Result<LandOutcome> Land(const schema::DecodedBatch& batch) override;
  Result<LandingCounts> Counts() override;
  Status ForEachEvent(const std::function<Status(const LandedEvent&)>& fn) override;
  Status ForEachAggregate(const std::function<Status(const LandedAggregate&)>& fn) override;
  Status UpsertAgent(const AgentRecord& agent) override;
  Result<std::optional<AgentRecord>> FindAgent(const std::string& instance_uid) override;
  Status ForEachAgent(const std::function<Status(const AgentRecord&)>& fn) override;

 private:
  PostgresLandingStore(std::unique_ptr<pg::PgPool> pool, Clock* clock);

  std::unique_ptr<pg::PgPool> pool_;
  Clock* clock_;  // null when opened read-only
};

}  // namespace tidegate::collector
