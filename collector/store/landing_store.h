// SPDX-License-Identifier: Apache-2.0
// LandingStore: where the collector lands decoded batches, as an interface with one
// implementation per database (sqlite_landing_store.h; OpenLandingStore picks one from a
// --store spec). Every implementation lands a batch atomically (its own transaction, or its
// own savepoint in a transaction shared with batches landing at the same time, committed
// before Land returns), deduplicating on (agent_id, batch_id), upserts window results keeping the
// highest revision, keeps persistent counters, and streams rows for `dump` in the same order.
// Implementations are thread-safe: sources call them from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "schema/batch_view.h"

namespace tidegate::collector {

struct LandOutcome {
  bool duplicate = false;     // (agent_id, batch_id) was landed before; nothing was written
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

// One OpAMP agent instance as it last reported itself on POST /v1/opamp (the agents table).
// Every field has a default member initializer so designated initializers may omit any.
struct AgentRecord {
  std::string instance_uid = {};   // 32 lower-case hex digits: the key
  std::string agent_id = {};       // the client certificate's identity, or service.instance.id
  int64_t last_seen = 0;           // Unix ms of the last AgentToServer
  uint64_t sequence_num = 0;       // of the last AgentToServer
  std::string config_status = {};  // "unset", "applied", "applying" or "failed"
  std::string config_hash = {};    // last_remote_config_hash, hex
  std::string config_error = {};   // the agent's reason for "failed" (bounded, printable)
  bool healthy = false;
  std::string health_status = {};          // ComponentHealth.status (bounded, printable)
  std::string effective_config_hash = {};  // SHA-256 hex of the reported effective config
  bool operator==(const AgentRecord&) const = default;
};

class LandingStore {
 public:
  virtual ~LandingStore() = default;
  LandingStore() = default;
  LandingStore(const LandingStore&) = delete;
  LandingStore& operator=(const LandingStore&) = delete;

  // Lands the batch atomically: either the batch row, all its events and window results and
  // the counters are committed, or nothing is. A batch whose (agent_id, batch_id) was landed
  // before is counted as a duplicate and nothing else is written; the same batch_id from
  // another agent is a different batch. Errors (kIOError, kResourceExhausted for a full
  // disk, kUnavailable when locked or disconnected) leave the store unchanged: the sender
  // should retry. kInternal for a store opened read-only. kInvalidArgument, with a reason,
  // for a batch the store can never land (the PostgreSQL store: an incompatible payload
  // schema); nothing was written and the receiver rejects the batch.
  virtual Result<LandOutcome> Land(const schema::DecodedBatch& batch) = 0;

  virtual Result<LandingCounts> Counts() = 0;

  // Calls fn for every event ordered by (agent_id, seq, arrival) or every aggregate ordered
  // by (agent_id, name, group_key, window_start). Stops at and returns fn's first error.
  virtual Status ForEachEvent(const std::function<Status(const LandedEvent&)>& fn) = 0;
  virtual Status ForEachAggregate(const std::function<Status(const LandedAggregate&)>& fn) = 0;

  // The agents table (POST /v1/opamp). UpsertAgent writes the whole row keyed by
  // instance_uid; FindAgent returns nullopt for an unknown instance; ForEachAgent calls fn in
  // (agent_id, instance_uid) order. A store from before the table existed (read-only) has
  // no agents. Errors as for Land.
  virtual Status UpsertAgent(const AgentRecord& agent) = 0;
  virtual Result<std::optional<AgentRecord>> FindAgent(const std::string& instance_uid) = 0;
  virtual Status ForEachAgent(const std::function<Status(const AgentRecord&)>& fn) = 0;
};

}  // namespace tidegate::collector
