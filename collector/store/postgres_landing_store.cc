// SPDX-License-Identifier: Apache-2.0
#include "collector/store/postgres_landing_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "collector/store/pg_exec.h"
#include "collector/store/pg_text.h"
#include "collector/store/postgres_sql.h"
#include "collector/store/postgres_typed_tables.h"

namespace tidegate::collector {
namespace {

using pg::Check;
using pg::Exec;
using pg::ExecParams;
using pg::ExecPrepared;
using pg::IntValue;
using pg::Params;
using pg::QueryError;
using pg::ResultPtr;
using pg::Rows;
using pg::TextValue;

Status Prepare(PGconn* conn) {
  const std::pair<const char*, const char*> statements[] = {
      {pg::kInsertBatchName, pg::kInsertBatch},
      {pg::kInsertEventsName, pg::kInsertEvents},
      {pg::kUpsertAggregatesName, pg::kUpsertAggregates},
      {pg::kAddCountersName, pg::kAddCounters},
  };
  for (const auto& [name, sql] : statements) {
    TG_RETURN_IF_ERROR(Check(conn, ResultPtr(PQprepare(conn, name, sql, 0, nullptr)),
                             PGRES_COMMAND_OK, std::string("prepare ") + name)
                           .status());
  }
  return Status::Ok();
}

Result<int> SchemaVersion(PGconn* conn) {
  Params none;
  TG_ASSIGN_OR_RETURN(ResultPtr res, ExecParams(conn, pg::kSelectVersion, none, PGRES_TUPLES_OK,
                                                "read schema version"));
  if (PQntuples(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) return 0;
  return static_cast<int>(IntValue(res.get(), 0, 0));
}

Status CheckNotNewer(int version) {
  if (version > pg::kSchemaVersion) {
    return InvalidArgument(
        fmt::format("postgres: schema version {} is newer than this collector's {}", version,
                    pg::kSchemaVersion));
  }
  return Status::Ok();
}

Status CreateSchemaLocked(PGconn* conn) {
  Params key;
  key.Add(pg::kSchemaLockKey);
  TG_RETURN_IF_ERROR(
      ExecParams(conn, pg::kLockSchema, key, PGRES_TUPLES_OK, "lock schema").status());
  // CREATE ... IF NOT EXISTS tells about every table that exists: not worth a log line.
  TG_RETURN_IF_ERROR(Exec(conn, "SET LOCAL client_min_messages = warning", "quiet notices"));
  TG_RETURN_IF_ERROR(Exec(conn, pg::kCreateSchema, "create schema"));
  TG_ASSIGN_OR_RETURN(int version, SchemaVersion(conn));
  TG_RETURN_IF_ERROR(CheckNotNewer(version));
  if (version < 2) TG_RETURN_IF_ERROR(Exec(conn, pg::kMigrateV1ToV2, "migrate schema v1 to v2"));
  if (version < 3) TG_RETURN_IF_ERROR(Exec(conn, pg::kMigrateV2ToV3, "migrate schema v2 to v3"));
  if (version < pg::kSchemaVersion) {
    Params v;
    v.Add(pg::kSchemaVersion);
    TG_RETURN_IF_ERROR(
        ExecParams(conn, pg::kInsertVersion, v, PGRES_COMMAND_OK, "write schema version").status());
  }
  return Status::Ok();
}

// Ends a failed transaction; true if the connection is idle and fit for reuse.
bool Recover(PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) return false;
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
    ResultPtr(PQexec(conn, "ROLLBACK"));
  }
  return PQtransactionStatus(conn) == PQTRANS_IDLE;
}

Status CreateSchema(PGconn* conn) {
  TG_RETURN_IF_ERROR(Exec(conn, "BEGIN", "begin schema"));
  Status s = CreateSchemaLocked(conn);
  if (s.ok()) s = Exec(conn, "COMMIT", "commit schema");
  if (!s.ok()) Recover(conn);
  return s;
}

using WindowKey = std::tuple<std::string_view, std::string_view, int64_t>;

// One window result per key, the one the upsert keeps (one statement may not update a row
// twice); ordered by key so concurrent landings lock rows in one order.
std::map<WindowKey, const schema::DecodedWindowResult*> LatestWindows(
    const schema::DecodedBatch& batch) {
  std::map<WindowKey, const schema::DecodedWindowResult*> latest;
  for (const schema::DecodedWindowResult& w : batch.window_results) {
    auto [it, inserted] = latest.try_emplace(WindowKey(w.name, w.group_key, w.window_start), &w);
    const schema::DecodedWindowResult* kept = it->second;
    if (!inserted && (w.revision > kept->revision ||
                      (w.revision == kept->revision && w.final && !kept->final))) {
      it->second = &w;
    }
  }
  return latest;
}

Result<int64_t> InsertEvents(PGconn* conn, const schema::DecodedBatch& batch) {
  if (batch.events.empty()) return 0;
  pg::ArrayLiteral seq, topic, device, event_time, ingest_time, flags, payload;
  for (const schema::DecodedEvent& e : batch.events) {
    seq.AddInt(static_cast<int64_t>(e.seq));
    topic.AddText(e.topic);
    device.AddText(e.device_id);
    event_time.AddInt(e.event_time);
    ingest_time.AddInt(e.ingest_time);
    flags.AddInt(e.flags);
    payload.AddText(e.payload);
  }
  Params p;
  p.Add(batch.agent_id).Add(batch.batch_id).Add(seq.Finish()).Add(topic.Finish());
  p.Add(device.Finish()).Add(event_time.Finish()).Add(ingest_time.Finish());
  p.Add(flags.Finish()).Add(payload.Finish());
  TG_ASSIGN_OR_RETURN(ResultPtr res, ExecPrepared(conn, pg::kInsertEventsName, p, PGRES_COMMAND_OK,
                                                  "insert events"));
  return Rows(res.get());
}

Status UpsertWindows(PGconn* conn, const schema::DecodedBatch& batch) {
  if (batch.window_results.empty()) return Status::Ok();
  pg::ArrayLiteral name, key, start, end, revision, final, measures;
  std::string json;
  for (const auto& [unused, w] : LatestWindows(batch)) {
    name.AddText(w->name);
    key.AddText(w->group_key);
    start.AddInt(w->window_start);
    end.AddInt(w->window_end);
    revision.AddInt(w->revision);
    final.AddBool(w->final);
    json.clear();
    schema::AppendMeasuresJson(&json, w->measures);
    measures.AddText(json);
  }
  Params p;
  p.Add(batch.agent_id).Add(batch.batch_id).Add(name.Finish()).Add(key.Finish());
  p.Add(start.Finish()).Add(end.Finish()).Add(revision.Finish()).Add(final.Finish());
  p.Add(measures.Finish());
  return ExecPrepared(conn, pg::kUpsertAggregatesName, p, PGRES_COMMAND_OK, "upsert window results")
      .status();
}

Status AddCounters(PGconn* conn, std::initializer_list<std::pair<const char*, int64_t>> deltas) {
  pg::ArrayLiteral names, values;
  for (const auto& [name, delta] : deltas) {
    names.AddText(name);
    values.AddInt(delta);
  }
  Params p;
  p.Add(names.Finish()).Add(values.Finish());
  return ExecPrepared(conn, pg::kAddCountersName, p, PGRES_COMMAND_OK, "update counters").status();
}

Status LandInTransaction(PGconn* conn, const schema::DecodedBatch& batch, int64_t received_at,
                         LandOutcome* outcome) {
  Params p;
  p.Add(batch.agent_id).Add(batch.batch_id).Add(static_cast<int64_t>(batch.first_seq));
  p.Add(static_cast<int64_t>(batch.last_seq)).Add(batch.created_at).Add(received_at);
  p.Add(static_cast<int64_t>(batch.events.size()));
  p.Add(static_cast<int64_t>(batch.window_results.size()));
  TG_ASSIGN_OR_RETURN(
      ResultPtr res, ExecPrepared(conn, pg::kInsertBatchName, p, PGRES_COMMAND_OK, "insert batch"));
  if (Rows(res.get()) == 0) {
    outcome->duplicate = true;
    return AddCounters(conn, {{"batches_duplicate", 1}});
  }
  TG_ASSIGN_OR_RETURN(int64_t events, InsertEvents(conn, batch));
  TG_RETURN_IF_ERROR(pg::LandSchemaBlocks(conn, batch, received_at));
  TG_RETURN_IF_ERROR(UpsertWindows(conn, batch));
  auto windows = static_cast<int64_t>(batch.window_results.size());
  TG_RETURN_IF_ERROR(
      AddCounters(conn, {{"batches_landed", 1}, {"events", events}, {"window_results", windows}}));
  outcome->events = static_cast<size_t>(events);
  outcome->window_results = batch.window_results.size();
  return Status::Ok();
}

// Streams a query's rows one at a time (single-row mode), so dump needs no memory for the
// whole table.
Status StreamRows(PGconn* conn, const char* sql, std::string_view what,
                  const std::function<Status(const PGresult*)>& row) {
  if (PQsendQuery(conn, sql) == 0) return pg::ConnectionError(conn, what);
  PQsetSingleRowMode(conn);
  Status status = Status::Ok();
  for (;;) {
    ResultPtr res(PQgetResult(conn));
    if (res == nullptr) break;
    ExecStatusType st = PQresultStatus(res.get());
    if (st == PGRES_SINGLE_TUPLE) {
      if (status.ok()) status = row(res.get());  // after an error, drain the rest
    } else if (st != PGRES_TUPLES_OK && status.ok()) {
      status = QueryError(conn, res.get(), what);
    }
  }
  return status;
}

AgentRecord ReadAgent(const PGresult* r, int row) {
  return AgentRecord{.instance_uid = TextValue(r, row, 0),
                     .agent_id = TextValue(r, row, 1),
                     .last_seen = IntValue(r, row, 2),
                     .sequence_num = static_cast<uint64_t>(IntValue(r, row, 3)),
                     .config_status = TextValue(r, row, 4),
                     .config_hash = TextValue(r, row, 5),
                     .config_error = TextValue(r, row, 6),
                     .healthy = TextValue(r, row, 7) == "t",
                     .health_status = TextValue(r, row, 8),
                     .effective_config_hash = TextValue(r, row, 9)};
}

}  // namespace

PostgresLandingStore::PostgresLandingStore(std::unique_ptr<pg::PgPool> pool, Clock* clock)
    : pool_(std::move(pool)), clock_(clock) {}

PostgresLandingStore::~PostgresLandingStore() = default;

Result<std::unique_ptr<PostgresLandingStore>> PostgresLandingStore::Open(
    const std::string& conninfo, Clock& clock, size_t max_connections) {
  {
    pg::PgPool setup(conninfo, 1, nullptr);
    TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, setup.Acquire());
    TG_RETURN_IF_ERROR(CreateSchema(lease.get()));
  }
  auto pool = std::make_unique<pg::PgPool>(conninfo, max_connections, Prepare);
  // Fail now, not at the first batch, if the statements cannot be prepared.
  TG_RETURN_IF_ERROR(pool->Acquire().status());
  return std::unique_ptr<PostgresLandingStore>(new PostgresLandingStore(std::move(pool), &clock));
}

Result<std::unique_ptr<PostgresLandingStore>> PostgresLandingStore::OpenReadOnly(
    const std::string& conninfo) {
  auto pool = std::make_unique<pg::PgPool>(conninfo, 1, nullptr);
  {
    TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool->Acquire());
    Params none;
    TG_ASSIGN_OR_RETURN(ResultPtr res,
                        ExecParams(lease.get(), "SELECT to_regclass('tidegate_schema')", none,
                                   PGRES_TUPLES_OK, "look for the schema"));
    if (PQgetisnull(res.get(), 0, 0)) {
      return NotFound("postgres: no tidegate landing tables (nothing was ever landed here?)");
    }
    TG_ASSIGN_OR_RETURN(int version, SchemaVersion(lease.get()));
    TG_RETURN_IF_ERROR(CheckNotNewer(version));
  }
  return std::unique_ptr<PostgresLandingStore>(new PostgresLandingStore(std::move(pool), nullptr));
}

Result<LandOutcome> PostgresLandingStore::Land(const schema::DecodedBatch& batch) {
  if (clock_ == nullptr) return Internal("postgres: store is open read-only");
  // A pooled connection may have died while idle (the server restarted): that shows only at
  // its first use, BEGIN, before anything was sent for the batch. Then one more attempt on
  // a new connection; any later error is the caller's retry.
  for (int attempt = 0;; ++attempt) {
    TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
    PGconn* conn = lease.get();
    Status s = Exec(conn, "BEGIN", "begin");
    if (!s.ok() && attempt == 0 && PQstatus(conn) == CONNECTION_BAD) {
      lease.Discard();
      continue;
    }
    LandOutcome outcome;
    if (s.ok()) s = LandInTransaction(conn, batch, clock_->NowUnixMs(), &outcome);
    if (s.ok()) s = Exec(conn, "COMMIT", "commit");
    if (!s.ok()) {
      if (!Recover(conn)) lease.Discard();
      return s;
    }
    return outcome;
  }
}

Result<LandingCounts> PostgresLandingStore::Counts() {
  TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
  Params none;
  Result<ResultPtr> res =
      ExecParams(lease.get(), pg::kSelectCounters, none, PGRES_TUPLES_OK, "read counters");
  if (!res.ok()) {
    if (!Recover(lease.get())) lease.Discard();
    return res.status();
  }
  LandingCounts counts;
  for (int row = 0; row < PQntuples(res->get()); ++row) {
    std::string name = TextValue(res->get(), row, 0);
    int64_t value = IntValue(res->get(), row, 1);
    if (name == "batches_landed") counts.batches_landed = value;
    if (name == "batches_duplicate") counts.batches_duplicate = value;
    if (name == "events") counts.events = value;
    if (name == "window_results") counts.window_results = value;
  }
  return counts;
}

Status PostgresLandingStore::ForEachEvent(const std::function<Status(const LandedEvent&)>& fn) {
  TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
  Status s = StreamRows(lease.get(), pg::kSelectEvents, "read events", [&](const PGresult* r) {
    LandedEvent e;
    e.agent_id = TextValue(r, 0, 0);
    e.seq = static_cast<uint64_t>(IntValue(r, 0, 1));
    e.topic = TextValue(r, 0, 2);
    e.device_id = TextValue(r, 0, 3);
    e.event_time = IntValue(r, 0, 4);
    e.ingest_time = IntValue(r, 0, 5);
    e.flags = static_cast<uint32_t>(IntValue(r, 0, 6));
    e.payload = TextValue(r, 0, 7);
    return fn(e);
  });
  if (!s.ok() && !Recover(lease.get())) lease.Discard();
  return s;
}

Status PostgresLandingStore::ForEachAggregate(
    const std::function<Status(const LandedAggregate&)>& fn) {
  TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
  Status s =
      StreamRows(lease.get(), pg::kSelectAggregates, "read aggregates", [&](const PGresult* r) {
        LandedAggregate a;
        a.agent_id = TextValue(r, 0, 0);
        a.name = TextValue(r, 0, 1);
        a.group_key = TextValue(r, 0, 2);
        a.window_start = IntValue(r, 0, 3);
        a.window_end = IntValue(r, 0, 4);
        a.revision = static_cast<uint32_t>(IntValue(r, 0, 5));
        a.final = TextValue(r, 0, 6) == "t";
        a.measures_json = TextValue(r, 0, 7);
        return fn(a);
      });
  if (!s.ok() && !Recover(lease.get())) lease.Discard();
  return s;
}

Status PostgresLandingStore::UpsertAgent(const AgentRecord& a) {
  if (clock_ == nullptr) return Internal("postgres: store is open read-only");
  TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
  Params p;
  p.Add(a.instance_uid).Add(a.agent_id).Add(a.last_seen);
  p.Add(static_cast<int64_t>(a.sequence_num)).Add(a.config_status).Add(a.config_hash);
  p.Add(a.config_error).Add(std::string(a.healthy ? "true" : "false")).Add(a.health_status);
  p.Add(a.effective_config_hash);
  Status s =
      ExecParams(lease.get(), pg::kUpsertAgent, p, PGRES_COMMAND_OK, "upsert agent").status();
  if (!s.ok() && !Recover(lease.get())) lease.Discard();
  return s;
}

Result<std::optional<AgentRecord>> PostgresLandingStore::FindAgent(
    const std::string& instance_uid) {
  TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
  Params p;
  p.Add(instance_uid);
  Result<ResultPtr> res =
      ExecParams(lease.get(), pg::kSelectAgent, p, PGRES_TUPLES_OK, "read agent");
  if (!res.ok()) {
    if (!Recover(lease.get())) lease.Discard();
    return res.status();
  }
  if (PQntuples(res->get()) == 0) return std::optional<AgentRecord>();
  return std::optional<AgentRecord>(ReadAgent(res->get(), 0));
}

Status PostgresLandingStore::ForEachAgent(const std::function<Status(const AgentRecord&)>& fn) {
  TG_ASSIGN_OR_RETURN(pg::PgPool::Lease lease, pool_->Acquire());
  Params none;
  Result<ResultPtr> has =
      ExecParams(lease.get(), pg::kHasAgentsTable, none, PGRES_TUPLES_OK, "look for agents");
  if (!has.ok()) {
    if (!Recover(lease.get())) lease.Discard();
    return has.status();
  }
  if (PQgetisnull(has->get(), 0, 0)) return Status::Ok();  // a schema from before version 2
  Status s = StreamRows(lease.get(), pg::kSelectAgents, "read agents",
                        [&](const PGresult* r) { return fn(ReadAgent(r, 0)); });
  if (!s.ok() && !Recover(lease.get())) lease.Discard();
  return s;
}

}  // namespace tidegate::collector
