// SPDX-License-Identifier: Apache-2.0
// Every SQL statement of the collector's SQLite landing store (DIR/landing.db), as named
// constants so the schema can be read in one place. Used only by sqlite_landing_store.cc.
//
// COMPATIBILITY
// - PRAGMA user_version holds the schema version. A change is a new step (kCreateSchemaV1,
//   kMigrateV1ToV2, ...) run in order inside one transaction by the store's migration, plus a
//   version bump; a database from a newer collector is refused rather than guessed at.
//   Version 1: batches keyed by batch_id alone. Version 2: batches keyed (agent_id,
//   batch_id), so one gateway's batch id never suppresses another gateway's batch.
//   Version 3: the agents table (OpAMP agents' last reported state, POST /v1/opamp).
// - events deliberately has no uniqueness on (agent_id, seq): dedup is by batch only,
//   so a duplicate that slipped past the agent's ingest dedup stays visible to tests.
#pragma once

namespace tidegate::collector::sql {

inline constexpr int kSchemaVersion = 3;

// synchronous=FULL: a batch is answered (HTTP 200, MQTT ack) only after its commit, and the
// agent then deletes it, so the commit must survive a power cut, not only a crash: FULL
// fsyncs the WAL at every commit (NORMAL in WAL mode does not). Group commit pays one fsync
// for every batch of the group; the drain of 1,000,000 events measured the same rate with
// both (213,345 and 215,622 events/s with FULL, 202,107 to 231,162 with NORMAL).
inline constexpr char kPragmas[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA foreign_keys=OFF;";

// Version 1 as first released; never edited, later steps change it.
inline constexpr char kCreateSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS batches (
  batch_id       TEXT PRIMARY KEY,
  agent_id       TEXT NOT NULL,
  first_seq      INTEGER NOT NULL,
  last_seq       INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  received_at    INTEGER NOT NULL,
  events         INTEGER NOT NULL,
  window_results INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  id          INTEGER PRIMARY KEY,
  agent_id    TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  topic       TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  event_time  INTEGER NOT NULL,
  ingest_time INTEGER NOT NULL,
  flags       INTEGER NOT NULL,
  payload     TEXT NOT NULL,
  batch_id    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_agent_seq ON events(agent_id, seq);
CREATE TABLE IF NOT EXISTS aggregates (
  agent_id      TEXT NOT NULL,
  name          TEXT NOT NULL,
  group_key     TEXT NOT NULL,
  window_start  INTEGER NOT NULL,
  window_end    INTEGER NOT NULL,
  revision      INTEGER NOT NULL,
  final         INTEGER NOT NULL,
  measures_json TEXT NOT NULL,
  batch_id      TEXT NOT NULL,
  PRIMARY KEY (agent_id, name, group_key, window_start)
);
CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
PRAGMA user_version = 1;
)sql";

// SQLite cannot change a primary key in place: the table is rebuilt under the same name.
inline constexpr char kMigrateV1ToV2[] = R"sql(
CREATE TABLE batches_v2 (
  agent_id       TEXT NOT NULL,
  batch_id       TEXT NOT NULL,
  first_seq      INTEGER NOT NULL,
  last_seq       INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  received_at    INTEGER NOT NULL,
  events         INTEGER NOT NULL,
  window_results INTEGER NOT NULL,
  PRIMARY KEY (agent_id, batch_id)
);
INSERT INTO batches_v2 (agent_id, batch_id, first_seq, last_seq, created_at, received_at,
  events, window_results)
  SELECT agent_id, batch_id, first_seq, last_seq, created_at, received_at, events,
  window_results FROM batches;
DROP TABLE batches;
ALTER TABLE batches_v2 RENAME TO batches;
PRAGMA user_version = 2;
)sql";

inline constexpr char kMigrateV2ToV3[] = R"sql(
CREATE TABLE agents (
  instance_uid          TEXT PRIMARY KEY,
  agent_id              TEXT NOT NULL,
  last_seen             INTEGER NOT NULL,
  sequence_num          INTEGER NOT NULL,
  config_status         TEXT NOT NULL,
  config_hash           TEXT NOT NULL,
  config_error          TEXT NOT NULL,
  healthy               INTEGER NOT NULL,
  health_status         TEXT NOT NULL,
  effective_config_hash TEXT NOT NULL
);
PRAGMA user_version = 3;
)sql";

inline constexpr char kUpsertAgent[] =
    "INSERT INTO agents (instance_uid, agent_id, last_seen, sequence_num, config_status,"
    " config_hash, config_error, healthy, health_status, effective_config_hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (instance_uid) DO UPDATE SET agent_id = excluded.agent_id,"
    " last_seen = excluded.last_seen, sequence_num = excluded.sequence_num,"
    " config_status = excluded.config_status, config_hash = excluded.config_hash,"
    " config_error = excluded.config_error, healthy = excluded.healthy,"
    " health_status = excluded.health_status,"
    " effective_config_hash = excluded.effective_config_hash;";

inline constexpr char kSelectAgent[] =
    "SELECT instance_uid, agent_id, last_seen, sequence_num, config_status, config_hash,"
    " config_error, healthy, health_status, effective_config_hash FROM agents"
    " WHERE instance_uid = ?1;";
inline constexpr char kSelectAgents[] =
    "SELECT instance_uid, agent_id, last_seen, sequence_num, config_status, config_hash,"
    " config_error, healthy, health_status, effective_config_hash FROM agents"
    " ORDER BY agent_id, instance_uid;";
inline constexpr char kHasAgentsTable[] =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agents';";

inline constexpr char kUserVersion[] = "PRAGMA user_version;";

// IMMEDIATE takes the write lock up front, so a concurrent `dump` reader cannot make the
// commit fail half-way with SQLITE_BUSY.
inline constexpr char kBegin[] = "BEGIN IMMEDIATE;";
inline constexpr char kCommit[] = "COMMIT;";
inline constexpr char kRollback[] = "ROLLBACK;";
// Each batch of a group-committed transaction lands inside its own savepoint.
inline constexpr char kSavepoint[] = "SAVEPOINT land_batch;";
inline constexpr char kRollbackToSavepoint[] = "ROLLBACK TO land_batch;";
inline constexpr char kReleaseSavepoint[] = "RELEASE land_batch;";

// Zero changes means this agent's batch id was already landed: the batch is a duplicate.
inline constexpr char kInsertBatch[] =
    "INSERT INTO batches (batch_id, agent_id, first_seq, last_seq, created_at, received_at,"
    " events, window_results) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (agent_id, batch_id) DO NOTHING;";

inline constexpr char kInsertEvent[] =
    "INSERT INTO events (agent_id, seq, topic, device_id, event_time, ingest_time, flags,"
    " payload, batch_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);";

// A receiver that upserts on the window key and keeps the highest revision is always right
// (SPEC "Event time"). At an equal revision only a newly final flag is taken over.
inline constexpr char kUpsertAggregate[] =
    "INSERT INTO aggregates (agent_id, name, group_key, window_start, window_end, revision,"
    " final, measures_json, batch_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (agent_id, name, group_key, window_start) DO UPDATE SET"
    " window_end = excluded.window_end, revision = excluded.revision,"
    " final = excluded.final, measures_json = excluded.measures_json,"
    " batch_id = excluded.batch_id"
    " WHERE excluded.revision > aggregates.revision"
    " OR (excluded.revision = aggregates.revision AND excluded.final > aggregates.final);";

inline constexpr char kAddCounter[] =
    "INSERT INTO counters (name, value) VALUES (?1, ?2)"
    " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;";

inline constexpr char kSelectCounters[] = "SELECT name, value FROM counters;";

inline constexpr char kSelectEvents[] =
    "SELECT agent_id, seq, topic, device_id, event_time, ingest_time, flags, payload"
    " FROM events ORDER BY agent_id, seq, id;";

inline constexpr char kSelectAggregates[] =
    "SELECT agent_id, name, group_key, window_start, window_end, revision, final,"
    " measures_json FROM aggregates ORDER BY agent_id, name, group_key, window_start;";

// Counter names in the counters table.
inline constexpr char kCounterBatchesLanded[] = "batches_landed";
inline constexpr char kCounterBatchesDuplicate[] = "batches_duplicate";
inline constexpr char kCounterEvents[] = "events";
inline constexpr char kCounterWindowResults[] = "window_results";

}  // namespace tidegate::collector::sql
