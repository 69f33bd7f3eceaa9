// SPDX-License-Identifier: Apache-2.0
// The buffer database's SQL, as named constants (like Fluent Bit's tail_sql.h).
//
// COMPATIBILITY
// - The schema version is PRAGMA user_version. kMigrations[i] upgrades version i to i+1;
//   steps are only appended, never edited, and each release's database is kept as a golden
//   file under tests/data/ so an upgrade from it stays tested.
// - Version 1: meta, events, inflight, dead_letters, rejected_batches, counters, key_epochs.
// - Version 2: agg_state (the event-time aggregator's checkpoint).
// - Version 3: dedup_keys becomes dedup_log, keyed (expires_at, key): appends in expiry
//   order touch one page instead of a random one per key (small WAL per commit), and
//   expiry and the count bound delete from its front.
// - Version 4: events.age_ms, the record's stamp on the AgeClock's age line
//   (common/age_clock.h), which max_age is judged by instead of ingest_time, so a step of the
//   wall clock cannot expire records. meta.age_ms persists the age line; dedup_log.expires_at
//   is on it too. An upgraded database starts its age line at the wall clock, so the rows it
//   had take their ingest_time as age stamp and its dedup expiries keep their meaning.
// - Version 5: events.schema_name and events.schema_version (the payload schema an event
//   passed; '' and 0 for none, which is what upgraded rows get) and dead_letters.detail
//   (why, without values: the schema, path and rule of a schema_violation; '' before).
// - Version 6: window_results_by_key, a partial index of the window results by their window
//   (name in topic, group key in device_id, window_start in event_time): a new revision
//   finds and deletes the unsent revisions it supersedes with one seek.
// - Version 7: window_keys replaces that index. A partial index is still maintained per row:
//   every raw event's insert and delete evaluated its condition (acknowledging 1,000 events
//   took 9% longer). window_keys has a row per buffered window result only, written and
//   deleted by the store next to it, so raw events pay nothing.
// - Version 8: dedup_chunks replaces dedup_log: one row per commit holding all the keys it
//   recorded (buffer/dedup_chunk.h), not one row per key, which cost about 0.9 us of SQLite
//   per event. The step packs dedup_log's rows with tg_dedup_chunk, which the store registers
//   on its connection before migrating.
// - Versions 9 and 10: events is keyed by id = priority << 52 | seq (RecordId) instead of seq
//   with the index events_by_priority on (priority, seq): the uplink's reads and
//   acknowledgements and the size policy's scans are rowid ranges, and each record is one
//   B-tree entry, not two. Version 9 creates the new table, the store moves the rows in chunks
//   (kMoveEventsChunk), version 10 replaces the old table. meta.records keeps the number of
//   rows, written in every transaction that changes it: a count(*) without the index would
//   read every page of the table at open.
#pragma once

#include <array>
#include <string_view>

namespace tidegate::buffer::sql {

// A record's id in events (version 10 on): its priority above its seq, so that each priority's
// records are one rowid range in seq order. seq < 2^52; 0 <= priority <= kMaxPriority.
inline constexpr int kPriorityShift = 52;
inline constexpr int64_t kMaxPriority = 15;
inline constexpr int64_t RecordId(int64_t priority, int64_t seq) {
  return static_cast<int64_t>(static_cast<uint64_t>(priority) << kPriorityShift) | seq;
}
inline constexpr int64_t SeqOfRecord(int64_t id) {
  return id & ((int64_t{1} << kPriorityShift) - 1);
}

inline constexpr std::array<std::string_view, 10> kMigrations = {
    R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
-- One row per buffered record (raw event or window result), in arrival order. seq is
-- assigned by the store, never reused (meta.next_seq), so (buffer_id, seq) names a record
-- for good even after it was acknowledged and deleted.
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  priority INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  event_time INTEGER NOT NULL,
  ingest_time INTEGER NOT NULL,
  topic TEXT NOT NULL,
  device_id TEXT NOT NULL,
  flags INTEGER NOT NULL,
  key_epoch INTEGER NOT NULL,
  payload BLOB NOT NULL);
CREATE INDEX events_by_priority ON events(priority, seq);
-- A batch that was built and not yet acknowledged: resent with the same id and records.
CREATE TABLE inflight(
  batch_id TEXT PRIMARY KEY,
  priority INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  count INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
-- Messages that could not be parsed: never their payload.
CREATE TABLE dead_letters(
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  topic TEXT NOT NULL,
  reason TEXT NOT NULL,
  size INTEGER NOT NULL);
-- Batches the receiver refused with a permanent 4xx; their records are deleted.
CREATE TABLE rejected_batches(
  batch_id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  http_status INTEGER NOT NULL,
  reason TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  count INTEGER NOT NULL);
CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
-- Data keys of privacy `encrypt`, only in sealed form (the agent cannot open them). Kept
-- while records that use them are buffered; they travel in every batch that needs them.
-- Ingest dedup: keyed 64-bit hashes of event ids (or content) seen within dedup.window,
-- written in the same transaction as their events, reloaded at start.
CREATE TABLE dedup_keys(key INTEGER PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE key_epochs(
  epoch INTEGER PRIMARY KEY,
  sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL);
)sql",
    R"sql(
-- The event-time aggregator's checkpoint: open windows and per-device watermarks, one row
-- per key, written in the same transaction as the events that changed them.
CREATE TABLE agg_state(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
)sql",
    R"sql(
-- Ingest dedup keys in expiry order. A key may appear twice (seen again after it expired
-- from memory); the later expiry wins when they are loaded.
CREATE TABLE dedup_log(
  expires_at INTEGER NOT NULL,
  key INTEGER NOT NULL,
  PRIMARY KEY(expires_at, key)) WITHOUT ROWID;
INSERT OR IGNORE INTO dedup_log(expires_at, key) SELECT expires_at, key FROM dedup_keys;
DROP TABLE dedup_keys;
)sql",
    R"sql(
ALTER TABLE events ADD COLUMN age_ms INTEGER NOT NULL DEFAULT 0;
UPDATE events SET age_ms = ingest_time;
)sql",
    R"sql(
ALTER TABLE events ADD COLUMN schema_name TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN detail TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
-- kind 1 is RecordKind::kWindowResult. (Its condition is still evaluated at every raw event's
-- insert and delete: version 7 drops it for window_keys.)
CREATE INDEX window_results_by_key ON events(topic, device_id, event_time) WHERE kind = 1;
)sql",
    R"sql(
-- The buffered window results (events rows of kind 1) by window. A row whose record is gone
-- is stale and harmless: lookups join events, and the lookup that finds it deletes it.
CREATE TABLE window_keys(
  seq INTEGER PRIMARY KEY,
  priority INTEGER NOT NULL,
  name TEXT NOT NULL,
  group_key TEXT NOT NULL,
  window_start INTEGER NOT NULL);
CREATE INDEX window_keys_by_window ON window_keys(name, group_key, window_start);
INSERT INTO window_keys(seq, priority, name, group_key, window_start)
  SELECT seq, priority, topic, device_id, event_time FROM events WHERE kind = 1;
DROP INDEX window_results_by_key;
)sql",
    R"sql(
-- Ingest dedup keys, a row per commit that recorded any. The count bound forgets the oldest
-- rows first; expiry deletes a row once its latest key expired (loading skips the expired keys
-- of a row still kept).
CREATE TABLE dedup_chunks(
  id INTEGER PRIMARY KEY,
  last_expires INTEGER NOT NULL,
  count INTEGER NOT NULL,
  keys BLOB NOT NULL);
INSERT INTO dedup_chunks(last_expires, count, keys)
  SELECT max(expires_at), count(*), tg_dedup_chunk(key, expires_at) FROM
    (SELECT expires_at, key, (row_number() OVER (ORDER BY expires_at, key) - 1) / 4096 AS chunk
     FROM dedup_log WHERE key != 0)
  GROUP BY chunk ORDER BY chunk;
DROP TABLE dedup_log;
)sql",
    R"sql(
-- Records keyed by id = priority << 52 | seq (RecordId), with no second index. The store moves
-- the rows into it in transactions of kMoveEventsChunk before the next step.
CREATE TABLE events_by_id(
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  event_time INTEGER NOT NULL,
  ingest_time INTEGER NOT NULL,
  topic TEXT NOT NULL,
  device_id TEXT NOT NULL,
  flags INTEGER NOT NULL,
  key_epoch INTEGER NOT NULL,
  payload BLOB NOT NULL,
  age_ms INTEGER NOT NULL,
  schema_name TEXT NOT NULL,
  schema_version INTEGER NOT NULL);
)sql",
    R"sql(
INSERT INTO events_by_id(id, kind, event_time, ingest_time, topic, device_id, flags, key_epoch,
                         payload, age_ms, schema_name, schema_version)
  SELECT (priority << 52) | seq, kind, event_time, ingest_time, topic, device_id, flags,
         key_epoch, payload, age_ms, schema_name, schema_version
  FROM events ORDER BY priority, seq;
INSERT OR REPLACE INTO meta(key, value) VALUES('records', (SELECT count(*) FROM events_by_id));
DROP TABLE events;
ALTER TABLE events_by_id RENAME TO events;
-- With the priority in it, a window's lookup joins the records by id from the index alone.
DROP INDEX window_keys_by_window;
CREATE INDEX window_keys_by_window ON window_keys(name, group_key, window_start, priority);
)sql",
};

// Between versions 9 and 10: the 10,000 rows of the old events table with the lowest seqs move
// to events_by_id, one transaction each with a checkpoint after it, so the upgrade of a large
// buffer needs about one chunk of disk beyond it (in seq order the moved rows free whole pages
// of the old table for the new one) instead of a second copy and a WAL as large. The store
// repeats it until it moves nothing; the step to version 10 moves what is left (all of it when
// the steps are run alone, as tests do).
inline constexpr std::string_view kMoveEventsChunk =
    "INSERT INTO events_by_id(id, kind, event_time, ingest_time, topic, device_id, flags,"
    " key_epoch, payload, age_ms, schema_name, schema_version)"
    " SELECT (priority << 52) | seq, kind, event_time, ingest_time, topic, device_id, flags,"
    " key_epoch, payload, age_ms, schema_name, schema_version"
    " FROM events ORDER BY seq LIMIT 10000;"
    "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT 10000);";
inline constexpr size_t kMoveEventsBeforeStep = 9;  // kMigrations[9] finishes the move

// ?1 is the record's id (RecordId).
inline constexpr std::string_view kInsertEvent =
    "INSERT INTO events(id, kind, event_time, ingest_time, topic, device_id, flags, key_epoch,"
    " payload, age_ms, schema_name, schema_version)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
inline constexpr std::string_view kInsertDeadLetter =
    "INSERT INTO dead_letters(time, topic, reason, size, detail) VALUES(?1, ?2, ?3, ?4, ?5)";
inline constexpr std::string_view kAddCounter =
    "INSERT INTO counters(name, value) VALUES(?1, ?2)"
    " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value";
inline constexpr std::string_view kSelectCounters = "SELECT name, value FROM counters";
inline constexpr std::string_view kGetMeta = "SELECT value FROM meta WHERE key = ?1";
inline constexpr std::string_view kSetMeta =
    "INSERT INTO meta(key, value) VALUES(?1, ?2)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
// The largest seq buffered: the last id of each priority, one seek each (priorities 0 to
// kMaxPriority).
inline constexpr std::string_view kMaxSeq =
    "WITH RECURSIVE p(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM p WHERE v < 15)"
    " SELECT max((SELECT id FROM events WHERE id < ((v + 1) << 52) ORDER BY id DESC LIMIT 1)"
    " & 4503599627370495) FROM p";
// max(id) is one seek to the right edge of the table; ORDER BY priority DESC, seq over the old
// index walked every row of the top priority (its cost grew with the backlog).
inline constexpr std::string_view kTopPriority = "SELECT max(id) >> 52 FROM events";
// The next lower priority that has records: one seek as well.
inline constexpr std::string_view kPriorityBelow =
    "SELECT id >> 52 FROM events WHERE id < (?1 << 52) ORDER BY id DESC LIMIT 1";
// Records of priority ?1 after seq ?2, oldest first.
inline constexpr std::string_view kSelectFromPriority =
    "SELECT id & 4503599627370495, id >> 52, kind, event_time, ingest_time, topic, device_id,"
    " flags, key_epoch, payload, age_ms, schema_name, schema_version FROM events"
    " WHERE id > (?1 << 52) + min(?2, 4503599627370495) AND id < ((?1 + 1) << 52)"
    " ORDER BY id LIMIT ?3";
// Records of priority ?1 with seqs ?2 to ?3 (a seq past 2^52 - 1 means the last one).
inline constexpr std::string_view kSelectRange =
    "SELECT id & 4503599627370495, id >> 52, kind, event_time, ingest_time, topic, device_id,"
    " flags, key_epoch, payload, age_ms, schema_name, schema_version FROM events"
    " WHERE id BETWEEN (?1 << 52) + min(?2, 4503599627370495)"
    " AND (?1 << 52) + min(?3, 4503599627370495) ORDER BY id";
// What a batch's records take in the database, estimated as StoredBytes() does.
inline constexpr std::string_view kRangeStoredBytes =
    "SELECT coalesce(sum(length(payload) + length(topic) + length(device_id)"
    " + coalesce(length(schema_name), 0) + 64), 0) FROM events"
    " WHERE id BETWEEN (?1 << 52) + min(?2, 4503599627370495)"
    " AND (?1 << 52) + min(?3, 4503599627370495)";
inline constexpr std::string_view kDeleteRange =
    "DELETE FROM events WHERE id BETWEEN (?1 << 52) + min(?2, 4503599627370495)"
    " AND (?1 << 52) + min(?3, 4503599627370495)";
inline constexpr std::string_view kInsertInflight =
    "INSERT INTO inflight(batch_id, priority, first_seq, last_seq, count, created_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
inline constexpr std::string_view kSelectInflight =
    "SELECT batch_id, priority, first_seq, last_seq, count, created_at FROM inflight"
    " ORDER BY priority DESC, first_seq";
inline constexpr std::string_view kDeleteInflight = "DELETE FROM inflight WHERE batch_id = ?1";
inline constexpr std::string_view kInsertRejected =
    "INSERT OR REPLACE INTO rejected_batches(batch_id, time, http_status, reason, first_seq,"
    " last_seq, count) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
inline constexpr std::string_view kInsertKeyEpoch =
    "INSERT OR IGNORE INTO key_epochs(epoch, sealed, created_at) VALUES(?1, ?2, ?3)";
inline constexpr std::string_view kSelectKeyEpoch =
    "SELECT sealed FROM key_epochs WHERE epoch = ?1";
inline constexpr std::string_view kInsertDedupChunk =
    "INSERT INTO dedup_chunks(last_expires, count, keys) VALUES(?1, ?2, ?3)";
inline constexpr std::string_view kLoadDedupChunks =
    "SELECT keys FROM dedup_chunks WHERE last_expires > ?1 ORDER BY id";
inline constexpr std::string_view kLastDedupExpiry = "SELECT max(last_expires) FROM dedup_chunks";
inline constexpr std::string_view kCountDedupKeys =
    "SELECT coalesce(sum(count), 0) FROM dedup_chunks";
// The oldest rows first, without their keys (expiry and the count bound).
inline constexpr std::string_view kDedupChunksOldestFirst =
    "SELECT id, last_expires, count FROM dedup_chunks ORDER BY id";
inline constexpr std::string_view kDeleteDedupChunksThrough =
    "DELETE FROM dedup_chunks WHERE id <= ?1";
inline constexpr std::string_view kGetDedupChunk = "SELECT keys FROM dedup_chunks WHERE id = ?1";
inline constexpr std::string_view kSetDedupChunk =
    "UPDATE dedup_chunks SET last_expires = ?2, count = ?3, keys = ?4 WHERE id = ?1";
// Size and drop policy (store_bounds.cc).
// The next higher priority that has records; any ?1 below 0 (the callers start from INT64_MIN)
// asks for the lowest. (Shifted as it is, INT64_MIN + 1 would skip priority 0.)
inline constexpr std::string_view kNextPriority =
    "SELECT id >> 52 FROM events WHERE id >= ((max(?1, -1) + 1) << 52) ORDER BY id LIMIT 1";
inline constexpr std::string_view kScanPriority =
    "SELECT id & 4503599627370495, kind, age_ms FROM events"
    " WHERE id > (?1 << 52) + min(?2, 4503599627370495) AND id < ((?1 + 1) << 52)"
    " ORDER BY id LIMIT ?3";
// ?1 is the record's id (RecordId).
inline constexpr std::string_view kDeleteRecord = "DELETE FROM events WHERE id = ?1";
// Window results by window (store_revisions.cc). A window result's row is named by seq and
// priority, as Ack and the drops delete it.
inline constexpr std::string_view kInsertWindowKey =
    "INSERT OR REPLACE INTO window_keys(seq, priority, name, group_key, window_start)"
    " VALUES(?1, ?2, ?3, ?4, ?5)";
// The buffered results of one window; e.seq is NULL for a stale key.
inline constexpr std::string_view kRevisionsOfWindow =
    "SELECT k.seq, e.id & 4503599627370495, e.id >> 52, e.payload FROM window_keys k"
    " LEFT JOIN events e ON e.id = ((k.priority << 52) | k.seq)"
    " WHERE k.name = ?1 AND k.group_key = ?2 AND k.window_start = ?3";
inline constexpr std::string_view kDeleteWindowKey = "DELETE FROM window_keys WHERE seq = ?1";
// After an acknowledgement or refusal of the batch (priority, first_seq, last_seq).
inline constexpr std::string_view kDeleteWindowKeyRange =
    "DELETE FROM window_keys WHERE seq BETWEEN ?2 AND ?3 AND priority = ?1";
inline constexpr std::string_view kOldestOfPriority =
    "SELECT ingest_time, age_ms FROM events WHERE id >= (?1 << 52) AND id < ((?1 + 1) << 52)"
    " AND kind = 0 ORDER BY id LIMIT 1";
inline constexpr std::string_view kPutState =
    "INSERT INTO agg_state(key, value) VALUES(?1, ?2)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
inline constexpr std::string_view kEraseState = "DELETE FROM agg_state WHERE key = ?1";
inline constexpr std::string_view kLoadState = "SELECT key, value FROM agg_state ORDER BY key";
// Raw events are the rows below kWindowResultPriority. Metrics count the window results
// (a rowid range, as few as open groups) and take them from the running record count: a
// count of the raw events would walk a row per buffered event at every scrape.
inline constexpr std::string_view kCountWindowResults =
    "SELECT count(*) FROM events WHERE id >= (?1 << 52)";
// Walks every page of the table (no index is smaller): only when meta.records is missing.
inline constexpr std::string_view kCountAll = "SELECT count(*) FROM events";
inline constexpr std::string_view kCountDeadLetters = "SELECT count(*) FROM dead_letters";
inline constexpr std::string_view kCountRejected = "SELECT count(*) FROM rejected_batches";
inline constexpr std::string_view kCountInflight = "SELECT count(*) FROM inflight";

}  // namespace tidegate::buffer::sql
