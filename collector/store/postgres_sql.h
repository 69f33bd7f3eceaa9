// SPDX-License-Identifier: Apache-2.0
// Every SQL statement of the collector's PostgreSQL landing store, as named constants so the
// schema can be read in one place. Used only by postgres_landing_store.cc.
//
// COMPATIBILITY
// - tidegate_schema holds one row per schema version reached (1: this file as first
//   released; 2: the agents table, OpAMP agents' last reported state; 3: the payload schema
//   registry payload_schemas and the namespace tidegate_payload of the per-schema tables). A change
//   is a new migration step plus a version bump; a database a newer collector made is refused.
//   Creation runs under a transaction-level advisory lock, so collectors starting at once on one
//   database create it once.
// - Row order of the dump queries uses COLLATE "C" (byte order), the order SQLite's BINARY
//   collation gives, so `dump` prints the same bytes from either store.
// - Integers: uint64 seq are stored as the same 64 bits in bigint, as in SQLite.
// - events are keyed (agent_id, seq) and inserted ON CONFLICT DO NOTHING: an event a batch
//   repeats lands once (SQLite keeps such repeats visible; see sqlite_landing_sql.h).
#pragma once

#include <cstdint>

namespace tidegate::collector::pg {

inline constexpr int kSchemaVersion = 3;

// Any fixed number: the key of the advisory lock held while creating the schema.
inline constexpr int64_t kSchemaLockKey = 0x7469646567617465;  // "tidegate"

inline constexpr char kCreateSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS tidegate_schema (
  version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
  agent_id       text NOT NULL,
  batch_id       text NOT NULL,
  first_seq      bigint NOT NULL,
  last_seq       bigint NOT NULL,
  created_at     bigint NOT NULL,
  received_at    bigint NOT NULL,
  events         bigint NOT NULL,
  window_results bigint NOT NULL,
  PRIMARY KEY (agent_id, batch_id)
);
CREATE TABLE IF NOT EXISTS events (
  agent_id    text NOT NULL,
  seq         bigint NOT NULL,
  topic       text NOT NULL,
  device_id   text NOT NULL,
  event_time  bigint NOT NULL,
  ingest_time bigint NOT NULL,
  flags       bigint NOT NULL,
  payload     text NOT NULL,
  batch_id    text NOT NULL,
  PRIMARY KEY (agent_id, seq)
);
CREATE TABLE IF NOT EXISTS aggregates (
  agent_id      text NOT NULL,
  name          text NOT NULL,
  group_key     text NOT NULL,
  window_start  bigint NOT NULL,
  window_end    bigint NOT NULL,
  revision      bigint NOT NULL,
  final         boolean NOT NULL,
  measures_json text NOT NULL,
  batch_id      text NOT NULL,
  PRIMARY KEY (agent_id, name, group_key, window_start)
);
CREATE TABLE IF NOT EXISTS counters (
  name  text PRIMARY KEY,
  value bigint NOT NULL
);
)sql";

// Version 1 -> 2 (run under the same lock, after kCreateSchema).
inline constexpr char kMigrateV1ToV2[] = R"sql(
CREATE TABLE IF NOT EXISTS agents (
  instance_uid          text PRIMARY KEY,
  agent_id              text NOT NULL,
  last_seen             bigint NOT NULL,
  sequence_num          bigint NOT NULL,
  config_status         text NOT NULL,
  config_hash           text NOT NULL,
  config_error          text NOT NULL,
  healthy               boolean NOT NULL,
  health_status         text NOT NULL,
  effective_config_hash text NOT NULL
);
)sql";

// Version 2 -> 3: payload schemas (wire schema_version 2). Each schema name gets a table
// tidegate_payload."<name>" (postgres_typed_tables.h) created and migrated as its versions
// arrive; payload_schemas holds each (name, version) with the columns it declared.
inline constexpr char kMigrateV2ToV3[] = R"sql(
CREATE SCHEMA IF NOT EXISTS tidegate_payload;
CREATE TABLE IF NOT EXISTS payload_schemas (
  name       text NOT NULL,
  version    bigint NOT NULL,
  definition text NOT NULL,
  first_seen bigint NOT NULL,
  PRIMARY KEY (name, version)
);
)sql";

// Serializes the registry check and migration of one schema name across collectors.
inline constexpr char kLockPayloadSchema[] =
    "SELECT pg_advisory_xact_lock(hashtext('tidegate_payload.' || $1))";
inline constexpr char kSelectPayloadSchemas[] =
    "SELECT version, definition FROM payload_schemas WHERE name = $1 ORDER BY version";
inline constexpr char kCountPayloadSchemas[] = "SELECT count(*) FROM payload_schemas";
inline constexpr char kInsertPayloadSchema[] =
    "INSERT INTO payload_schemas (name, version, definition, first_seen)"
    " VALUES ($1, $2::bigint, $3, $4::bigint)";
inline constexpr char kSelectTypedColumns[] =
    "SELECT column_name, data_type FROM information_schema.columns"
    " WHERE table_schema = 'tidegate_payload' AND table_name = $1";
// The common event columns of every per-schema table (declared fields may not start with
// tg_); followed by one column per declared field. Times are timestamptz.
inline constexpr char kTypedTableCommonColumns[] =
    "tg_agent_id text NOT NULL, tg_seq bigint NOT NULL, tg_topic text NOT NULL,"
    " tg_device_id text NOT NULL, tg_event_time timestamptz NOT NULL,"
    " tg_ingest_time timestamptz NOT NULL, tg_schema_version bigint NOT NULL,"
    " tg_batch_id text NOT NULL, PRIMARY KEY (tg_agent_id, tg_seq)";

inline constexpr char kUpsertAgent[] =
    "INSERT INTO agents (instance_uid, agent_id, last_seen, sequence_num, config_status,"
    " config_hash, config_error, healthy, health_status, effective_config_hash)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (instance_uid) DO UPDATE SET agent_id = excluded.agent_id,"
    " last_seen = excluded.last_seen, sequence_num = excluded.sequence_num,"
    " config_status = excluded.config_status, config_hash = excluded.config_hash,"
    " config_error = excluded.config_error, healthy = excluded.healthy,"
    " health_status = excluded.health_status,"
    " effective_config_hash = excluded.effective_config_hash";
inline constexpr char kSelectAgent[] =
    "SELECT instance_uid, agent_id, last_seen, sequence_num, config_status, config_hash,"
    " config_error, healthy, health_status, effective_config_hash FROM agents"
    " WHERE instance_uid = $1";
inline constexpr char kSelectAgents[] =
    "SELECT instance_uid, agent_id, last_seen, sequence_num, config_status, config_hash,"
    " config_error, healthy, health_status, effective_config_hash FROM agents"
    " ORDER BY agent_id COLLATE \"C\", instance_uid COLLATE \"C\"";
inline constexpr char kHasAgentsTable[] = "SELECT to_regclass('agents')";

inline constexpr char kLockSchema[] = "SELECT pg_advisory_xact_lock($1::bigint)";
inline constexpr char kSelectVersion[] = "SELECT max(version) FROM tidegate_schema";
inline constexpr char kInsertVersion[] =
    "INSERT INTO tidegate_schema (version) VALUES ($1::integer)";

// Prepared statement names and texts. Zero rows inserted by kInsertBatch means this agent's
// batch id was landed before (or is being landed by a concurrent transaction, which this
// one waits for): the batch is a duplicate.
inline constexpr char kInsertBatchName[] = "tg_insert_batch";
inline constexpr char kInsertBatch[] =
    "INSERT INTO batches (agent_id, batch_id, first_seq, last_seq, created_at, received_at,"
    " events, window_results) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (agent_id, batch_id) DO NOTHING";

// One round trip for all events of a batch: parallel arrays, unnested.
inline constexpr char kInsertEventsName[] = "tg_insert_events";
inline constexpr char kInsertEvents[] =
    "INSERT INTO events (agent_id, seq, topic, device_id, event_time, ingest_time, flags,"
    " payload, batch_id)"
    " SELECT $1, u.seq, u.topic, u.device_id, u.event_time, u.ingest_time, u.flags,"
    " u.payload, $2"
    " FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],"
    " $8::bigint[], $9::text[]) AS u(seq, topic, device_id, event_time, ingest_time, flags,"
    " payload)"
    " ON CONFLICT (agent_id, seq) DO NOTHING";

// Keeps the highest revision; at an equal revision only a newly final flag is taken over
// (as sqlite_landing_sql.h). The arrays hold each window key once (one statement may not
// update a row twice).
inline constexpr char kUpsertAggregatesName[] = "tg_upsert_aggregates";
inline constexpr char kUpsertAggregates[] =
    "INSERT INTO aggregates AS a (agent_id, name, group_key, window_start, window_end,"
    " revision, final, measures_json, batch_id)"
    " SELECT $1, u.name, u.group_key, u.window_start, u.window_end, u.revision, u.final,"
    " u.measures_json, $2"
    " FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],"
    " $8::boolean[], $9::text[]) AS u(name, group_key, window_start, window_end, revision,"
    " final, measures_json)"
    " ON CONFLICT (agent_id, name, group_key, window_start) DO UPDATE SET"
    " window_end = excluded.window_end, revision = excluded.revision,"
    " final = excluded.final, measures_json = excluded.measures_json,"
    " batch_id = excluded.batch_id"
    " WHERE excluded.revision > a.revision"
    " OR (excluded.revision = a.revision AND excluded.final AND NOT a.final)";

// Always the same counter order, so concurrent landings lock the rows in one order.
inline constexpr char kAddCountersName[] = "tg_add_counters";
inline constexpr char kAddCounters[] =
    "INSERT INTO counters AS c (name, value)"
    " SELECT * FROM unnest($1::text[], $2::bigint[])"
    " ON CONFLICT (name) DO UPDATE SET value = c.value + excluded.value";

inline constexpr char kSelectCounters[] = "SELECT name, value FROM counters";

inline constexpr char kSelectEvents[] =
    "SELECT agent_id, seq, topic, device_id, event_time, ingest_time, flags, payload"
    " FROM events ORDER BY agent_id COLLATE \"C\", seq";

inline constexpr char kSelectAggregates[] =
    "SELECT agent_id, name, group_key, window_start, window_end, revision, final,"
    " measures_json FROM aggregates ORDER BY agent_id COLLATE \"C\", name COLLATE \"C\","
    " group_key COLLATE \"C\", window_start";

}  // namespace tidegate::collector::pg
