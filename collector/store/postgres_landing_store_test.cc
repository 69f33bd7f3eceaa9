// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL landing store against a real PostgreSQL 15 (tests/support/postgres_server.h,
// one server per test binary, a fresh database per test case).
#include "collector/store/postgres_landing_store.h"

#include <libpq-fe.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "collector/dump_command.h"
#include "collector/intake/batch_intake.h"
#include "collector/store/open_landing_store.h"
#include "collector/store/postgres_sql.h"
#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"
#include "schema/payload_members.h"
#include "schema/tidegate_batch_generated.h"
#include "tests/support/postgres_server.h"
#include "tests/support/wait.h"

namespace tidegate::collector {
namespace {

using testing::TestBatch;
using testing::TestWindow;

class FixedClock : public Clock {
 public:
  int64_t NowUnixMs() override { return 1764000009000; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
};

std::string FreshDb(std::string_view icu_locale = {}) {
  auto url = tidegate::testing::FreshPostgresDatabase(icu_locale);
  INFO(url.status().ToString());
  REQUIRE(url.ok());
  return *url;
}

std::unique_ptr<PostgresLandingStore> OpenPg(const std::string& url, Clock& clock,
                                             size_t connections = 4) {
  auto store = PostgresLandingStore::Open(url, clock, connections);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

schema::DecodedBatch Decode(const TestBatch& spec) {
  auto batch = schema::DecodeBatch(testing::BuildBatch(spec));
  REQUIRE(batch.ok());
  return std::move(batch).value();
}

std::vector<LandedEvent> Events(LandingStore& store) {
  std::vector<LandedEvent> out;
  REQUIRE(store
              .ForEachEvent([&](const LandedEvent& e) {
                out.push_back(e);
                return Status::Ok();
              })
              .ok());
  return out;
}

std::vector<LandedAggregate> Aggregates(LandingStore& store) {
  std::vector<LandedAggregate> out;
  REQUIRE(store
              .ForEachAggregate([&](const LandedAggregate& a) {
                out.push_back(a);
                return Status::Ok();
              })
              .ok());
  return out;
}

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;

PgConnPtr Connect(const std::string& url) {
  PgConnPtr conn(PQconnectdb(url.c_str()));
  INFO(PQerrorMessage(conn.get()));
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  return conn;
}

// Runs sql; returns the first column of the first row ("" if none).
std::string Query(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  ExecStatusType st = PQresultStatus(res);
  std::string value =
      (st == PGRES_TUPLES_OK && PQntuples(res) > 0) ? PQgetvalue(res, 0, 0) : std::string();
  PQclear(res);
  INFO(sql << ": " << PQerrorMessage(conn));
  REQUIRE((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK));
  return value;
}

TEST_CASE("PostgresLandingStore lands a batch once per (agent_id, batch_id)", "[postgres]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  TestBatch spec;
  spec.windows = {TestWindow{}};
  auto first = store->Land(Decode(spec));
  INFO(first.status().ToString());
  REQUIRE(first.ok());
  CHECK_FALSE(first->duplicate);
  CHECK(first->events == 3);
  CHECK(first->window_results == 1);
  auto again = store->Land(Decode(spec));
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  CHECK(again->events == 0);
  TestBatch other = spec;
  other.agent_id = "gw-02";  // the same batch id from another gateway is another batch
  auto theirs = store->Land(Decode(other));
  REQUIRE(theirs.ok());
  CHECK_FALSE(theirs->duplicate);

  auto events = Events(*store);
  REQUIRE(events.size() == 6);
  CHECK(events[0].agent_id == "gw-01");
  CHECK(events[0].seq == 1);
  CHECK(events[2].flags == schema::kEventFlagLate);
  CHECK(events[1].payload == R"({"n": 2})");
  CHECK(events[3].agent_id == "gw-02");
  CHECK(Aggregates(*store).size() == 2);
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 2);
  CHECK(counts->batches_duplicate == 1);
  CHECK(counts->events == 6);
  CHECK(counts->window_results == 2);

  SECTION("another collector on the same database sees the batch as landed") {
    auto second = OpenPg(url, clock);
    auto repeat = second->Land(Decode(spec));
    REQUIRE(repeat.ok());
    CHECK(repeat->duplicate);
  }
}

TEST_CASE(
    "a batch with a NUL byte in a text field is rejected for good, not retried forever, and "
    "the next batch lands",
    "[postgres]") {
  FixedClock clock;
  auto store = OpenPg(FreshDb(), clock);
  BatchIntake intake(*store, {});
  TestBatch nul;
  nul.device_id = std::string("dev\0x", 5);  // e.g. from a JSON "device_id":"dev\u0000x"
  IntakeOutcome out = intake.Accept(nul.batch_id, testing::Zstd(testing::BuildBatch(nul)));
  CHECK(out.verdict == IntakeVerdict::kRejected);
  CHECK(out.reject_kind == RejectKind::kInvalid);
  CHECK(Events(*store).empty());
  TestBatch next;
  next.batch_id = "gw-01-2";
  next.first_seq = 4;
  IntakeOutcome landed = intake.Accept(next.batch_id, testing::Zstd(testing::BuildBatch(next)));
  CHECK(landed.verdict == IntakeVerdict::kLanded);
  CHECK(Events(*store).size() == 3);
}

TEST_CASE("PostgresLandingStore keeps the highest revision of a window", "[postgres]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  auto land = [&](const std::string& id, std::vector<TestWindow> windows) {
    TestBatch spec;
    spec.batch_id = id;
    spec.events = 0;
    spec.windows = std::move(windows);
    auto outcome = store->Land(Decode(spec));
    INFO(outcome.status().ToString());
    REQUIRE(outcome.ok());
    REQUIRE_FALSE(outcome->duplicate);
  };
  auto only = [&] {
    auto aggregates = Aggregates(*store);
    REQUIRE(aggregates.size() == 1);
    return aggregates[0];
  };
  land("b1", {TestWindow{.revision = 2, .avg = 20}});
  land("b2", {TestWindow{.revision = 1, .avg = 99}});  // older, arriving later: no change
  CHECK(only().revision == 2);
  CHECK(only().measures_json.find("99") == std::string::npos);
  land("b3", {TestWindow{.revision = 2, .final = true, .avg = 20}});
  CHECK(only().final);
  land("b4", {TestWindow{.revision = 2, .final = false, .avg = 21}});  // not un-finalised
  CHECK(only().final);
  // One batch holding two revisions of one window: the higher one is kept.
  land("b5", {TestWindow{.revision = 7, .avg = 70}, TestWindow{.revision = 5, .avg = 50}});
  CHECK(only().revision == 7);
  CHECK(only().measures_json.find("70") != std::string::npos);
}

TEST_CASE(
    "PostgresLandingStore: a landing of a batch another collector is landing waits "
    "and then sees it",
    "[postgres]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  TestBatch spec;
  // Another collector's transaction, stopped after its batch row: uncommitted.
  PgConnPtr other = Connect(url);
  Query(other.get(), "BEGIN");
  Query(other.get(), "INSERT INTO batches VALUES ('gw-01', 'gw-01-1', 1, 3, 0, 0, 3, 0)");
  auto landing = std::async(std::launch::async, [&] { return store->Land(Decode(spec)); });
  PgConnPtr observer = Connect(url);
  bool waiting = tidegate::testing::WaitUntil(
      [&] {
        return Query(observer.get(),
                     "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") == "1";
      },
      std::chrono::seconds(10));
  REQUIRE(waiting);
  CHECK(landing.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  SECTION("the other one commits: a duplicate, nothing written") {
    Query(other.get(), "COMMIT");
    auto outcome = landing.get();
    INFO(outcome.status().ToString());
    REQUIRE(outcome.ok());
    CHECK(outcome->duplicate);
    CHECK(Events(*store).empty());
  }
  SECTION("the other one rolls back: landed here") {
    Query(other.get(), "ROLLBACK");
    auto outcome = landing.get();
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome->duplicate);
    CHECK(Events(*store).size() == 3);
  }
}

TEST_CASE("PostgresLandingStore: two collectors landing the same batches at once land each once",
          "[postgres]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto a = OpenPg(url, clock);
  auto b = OpenPg(url, clock);
  constexpr int kBatches = 60;
  std::vector<schema::DecodedBatch> batches;
  for (int i = 0; i < kBatches; ++i) {
    TestBatch spec;
    spec.batch_id = "gw-01-" + std::to_string(i);
    spec.first_seq = 1 + static_cast<uint64_t>(i) * 3;
    spec.windows = {TestWindow{.revision = static_cast<uint32_t>(i)}};
    batches.push_back(Decode(spec));
  }
  auto run = [&](PostgresLandingStore* store, int* landed) {
    for (const auto& batch : batches) {
      auto outcome = store->Land(batch);
      if (!outcome.ok()) return outcome.status();
      if (!outcome->duplicate) ++*landed;
    }
    return Status::Ok();
  };
  int landed_a = 0;
  int landed_b = 0;
  auto fa = std::async(std::launch::async, run, a.get(), &landed_a);
  auto fb = std::async(std::launch::async, run, b.get(), &landed_b);
  Status sa = fa.get();
  Status sb = fb.get();
  INFO(sa.ToString() << " / " << sb.ToString());
  // A deadlock between the two on the aggregates row would be a retry, not a loss; with
  // rows locked in one order there is none.
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  CHECK(landed_a + landed_b == kBatches);
  CHECK(Events(*a).size() == size_t{kBatches} * 3);
  auto counts = a->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == kBatches);
  CHECK(counts->batches_duplicate == kBatches);
  CHECK(counts->events == int64_t{kBatches} * 3);
  auto aggregates = Aggregates(*b);
  REQUIRE(aggregates.size() == 1);
  CHECK(aggregates[0].revision == kBatches - 1);
}

TEST_CASE("PostgresLandingStore creates its schema once when collectors start at once",
          "[postgres]") {
  std::string url = FreshDb();
  FixedClock clock;
  SECTION("nothing landed yet: dump finds nothing") {
    auto reader = PostgresLandingStore::OpenReadOnly(url);
    REQUIRE_FALSE(reader.ok());
    CHECK(reader.status().code() == StatusCode::kNotFound);
  }
  std::vector<std::future<Status>> opens;
  for (int i = 0; i < 4; ++i) {
    opens.push_back(std::async(std::launch::async,
                               [&] { return PostgresLandingStore::Open(url, clock).status(); }));
  }
  for (auto& f : opens) {
    Status s = f.get();
    INFO(s.ToString());
    CHECK(s.ok());
  }
  PgConnPtr conn = Connect(url);
  CHECK(Query(conn.get(), "SELECT count(*) FROM tidegate_schema") == "1");
  SECTION("a schema a newer collector made is refused") {
    Query(conn.get(), "UPDATE tidegate_schema SET version = 99");
    auto store = PostgresLandingStore::Open(url, clock);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().code() == StatusCode::kInvalidArgument);
    auto reader = PostgresLandingStore::OpenReadOnly(url);
    REQUIRE_FALSE(reader.ok());
    CHECK(reader.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("PostgresLandingStore reconnects after the server restarts and answers retry while down",
          "[postgres]") {
  std::string url = FreshDb();
  auto server = tidegate::testing::SharedPostgresServer();
  REQUIRE(server.ok());
  FixedClock clock;
  auto store = OpenPg(url, clock, 1);
  TestBatch spec;
  REQUIRE(store->Land(Decode(spec)).ok());
  REQUIRE((*server)->Stop().ok());
  spec.batch_id = "gw-01-2";
  spec.first_seq = 4;
  auto down = store->Land(Decode(spec));
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().code() == StatusCode::kUnavailable);
  REQUIRE((*server)->Restart().ok());
  auto up = store->Land(Decode(spec));
  INFO(up.status().ToString());
  REQUIRE(up.ok());
  CHECK_FALSE(up->duplicate);
  CHECK(Events(*store).size() == 6);
}

TEST_CASE("PostgresLandingStore: a connection error never shows the password", "[postgres]") {
  FixedClock clock;
  auto store = PostgresLandingStore::Open(
      "postgresql://tg:hunter2@127.0.0.1:1/landing?connect_timeout=2", clock);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kUnavailable);
  CHECK(store.status().message().find("hunter2") == std::string::npos);
  CHECK(store.status().message().find("tg:***@") != std::string::npos);
}

std::string DumpToString(const std::string& store, const std::string& what) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  REQUIRE(out != nullptr);
  std::FILE* err = std::tmpfile();
  int code = RunDump({.store = store, .what = what}, out, err);
  std::fclose(out);
  std::fclose(err);
  std::string text(buffer, size);
  std::free(buffer);  // NOLINT(cppcoreguidelines-no-malloc): open_memstream's buffer
  REQUIRE(code == 0);
  return text;
}

TEST_CASE("dump prints the same bytes from SQLite and PostgreSQL", "[postgres]") {
  // A database whose own collation is not byte order (ICU root: "gw-a" < "GW-Z" < "gw-b").
  std::string url = FreshDb("und");
  testing::ScratchDir dir;
  FixedClock clock;
  auto pg = OpenPg(url, clock);
  auto sqlite = SqliteLandingStore::Open(dir.path(), clock);
  REQUIRE(sqlite.ok());
  std::vector<TestBatch> specs;
  for (std::string agent : {"gw-b", "gw-a", "GW-Z", "gw-\xc3\xa9"}) {  // byte order matters
    for (int i = 0; i < 3; ++i) {
      TestBatch spec;
      spec.agent_id = agent;
      spec.batch_id = agent + "-" + std::to_string(i);
      spec.first_seq = 1 + static_cast<uint64_t>(i) * 3;
      spec.windows = {TestWindow{.group_key = "dev-" + std::to_string(i), .revision = 1},
                      TestWindow{.name = "Temp_1m", .group_key = "dev-\"q\"", .avg = -1.5}};
      specs.push_back(spec);
    }
  }
  for (const TestBatch& spec : specs) {
    REQUIRE(pg->Land(Decode(spec)).ok());
    REQUIRE((*sqlite)->Land(Decode(spec)).ok());
    REQUIRE(pg->Land(Decode(spec)).ok());  // duplicates change nothing
  }
  std::string pg_events = DumpToString(url, "events");
  std::string pg_aggregates = DumpToString(url, "aggregates");
  CHECK(pg_events.size() > 500);
  CHECK(pg_events == DumpToString(dir.path(), "events"));
  CHECK(pg_aggregates == DumpToString(dir.path(), "aggregates"));
}

std::vector<AgentRecord> Agents(LandingStore& store) {
  std::vector<AgentRecord> out;
  REQUIRE(store
              .ForEachAgent([&](const AgentRecord& a) {
                out.push_back(a);
                return Status::Ok();
              })
              .ok());
  return out;
}

TEST_CASE("PostgresLandingStore keeps one agents row per OpAMP instance", "[postgres]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  auto missing = store->FindAgent("00");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  AgentRecord a{.instance_uid = "0a",
                .agent_id = "gw-a",
                .last_seen = 1000,
                .sequence_num = 7,
                .config_status = "failed",
                .config_hash = "ab01",
                .config_error = "signature does not verify",
                .healthy = true,
                .health_status = "ready",
                .effective_config_hash = "cd02"};
  AgentRecord b = a;
  b.instance_uid = "0b";
  b.agent_id = "gw-B";  // byte order: upper case before lower case, as SQLite sorts
  REQUIRE(store->UpsertAgent(a).ok());
  REQUIRE(store->UpsertAgent(b).ok());
  a.sequence_num = 8;
  a.config_status = "applied";
  a.config_error.clear();
  a.healthy = false;
  REQUIRE(store->UpsertAgent(a).ok());
  auto found = store->FindAgent("0a");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(**found == a);
  std::vector<AgentRecord> all = Agents(*store);
  REQUIRE(all.size() == 2);
  CHECK(all[0] == b);
  CHECK(all[1] == a);
  auto reader = PostgresLandingStore::OpenReadOnly(url);
  REQUIRE(reader.ok());
  CHECK(Agents(**reader).size() == 2);
}

TEST_CASE("PostgresLandingStore migrates a version 1 schema to version 2 with an agents table",
          "[postgres]") {
  std::string url = FreshDb();
  {
    PgConnPtr conn = Connect(url);
    Query(conn.get(), pg::kCreateSchema);
    Query(conn.get(), "INSERT INTO tidegate_schema (version) VALUES (1)");
    Query(conn.get(), "INSERT INTO counters VALUES ('events', 5)");
    auto old_reader = PostgresLandingStore::OpenReadOnly(url);
    REQUIRE(old_reader.ok());
    CHECK(Agents(**old_reader).empty());  // no agents table yet: no agents
  }
  FixedClock clock;
  auto store = OpenPg(url, clock);
  PgConnPtr conn = Connect(url);
  CHECK(Query(conn.get(), "SELECT max(version) FROM tidegate_schema") ==
        std::to_string(pg::kSchemaVersion));
  CHECK(Query(conn.get(), "SELECT to_regclass('payload_schemas')::text") == "payload_schemas");
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->events == 5);
  REQUIRE(store->UpsertAgent({.instance_uid = "0a", .agent_id = "gw-a"}).ok());
  CHECK(Agents(*store).size() == 1);
}

namespace wire = ::tidegate::wire;

// A typed column for BuildSchemaBatch: form 0 = null, values of its type only.
struct TestColumn {
  std::string path;
  wire::ColumnType type = wire::ColumnType::Number;
  std::vector<uint8_t> form;
  std::vector<double> doubles = {};
  std::vector<int64_t> longs = {};
  std::vector<std::string> strings = {};
};

// A schema_version 2 batch of one block: every event is a row, its payload the columns with
// a value, in column order (the remainder is {}).
std::string BuildSchemaBatch(const std::string& batch_id, uint64_t first_seq,
                             const std::string& name, int64_t version,
                             const std::vector<TestColumn>& columns) {
  namespace fb = ::flatbuffers;
  fb::FlatBufferBuilder b;
  const size_t rows = columns.front().form.size();
  std::vector<fb::Offset<wire::Event>> events;
  std::vector<uint32_t> row_index;
  std::vector<fb::Offset<wire::Layout>> layouts;
  std::vector<uint16_t> row_layout;
  for (size_t r = 0; r < rows; ++r) {
    events.push_back(wire::CreateEvent(b, first_seq + r, b.CreateString("devices/d1/telemetry"),
                                       b.CreateString("d1"), 1764000000000 + int64_t(r),
                                       1764000000500, 0, b.CreateString("{}")));
    row_index.push_back(static_cast<uint32_t>(r));
    std::vector<uint16_t> slots;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].form[r] != 0) slots.push_back(static_cast<uint16_t>(c + 1));
    }
    layouts.push_back(wire::CreateLayout(b, b.CreateVector(slots)));
    row_layout.push_back(static_cast<uint16_t>(r));
  }
  std::vector<fb::Offset<wire::Column>> cols;
  for (const TestColumn& c : columns) {
    cols.push_back(wire::CreateColumn(b, b.CreateString(c.path), c.type, b.CreateVector(c.form),
                                      c.doubles.empty() ? 0 : b.CreateVector(c.doubles),
                                      c.longs.empty() ? 0 : b.CreateVector(c.longs),
                                      c.strings.empty() ? 0 : b.CreateVectorOfStrings(c.strings)));
  }
  std::vector<fb::Offset<wire::SchemaBlock>> blocks = {wire::CreateSchemaBlock(
      b, b.CreateString(name), version, b.CreateVector(row_index), b.CreateVector(cols),
      b.CreateVector(layouts), b.CreateVector(row_layout))};
  wire::FinishBatchBuffer(
      b, wire::CreateBatch(b, 2, b.CreateString("gw-01"), b.CreateString(batch_id), first_seq,
                           first_seq + rows - 1, 1764000001000, 0, b.CreateVector(events), 0,
                           b.CreateVector(blocks)));
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

schema::DecodedBatch DecodeSchemaBatch(const std::string& flatbuffer) {
  auto batch = schema::DecodeBatch(flatbuffer);
  INFO(batch.status().ToString());
  REQUIRE(batch.ok());
  return std::move(batch).value();
}

// Every row of a query, columns joined with '|' (NULL as "-").
std::vector<std::string> Rows(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  INFO(sql << ": " << PQerrorMessage(conn));
  REQUIRE(PQresultStatus(res) == PGRES_TUPLES_OK);
  std::vector<std::string> out;
  for (int r = 0; r < PQntuples(res); ++r) {
    std::string line;
    for (int c = 0; c < PQnfields(res); ++c) {
      if (c > 0) line += '|';
      line += PQgetisnull(res, r, c) ? "-" : PQgetvalue(res, r, c);
    }
    out.push_back(line);
  }
  PQclear(res);
  return out;
}

std::vector<std::string> ColumnTypes(PGconn* conn, const std::string& table) {
  return Rows(conn,
              "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema ="
              " 'tidegate_payload' AND table_name = '" +
                  table + "' AND column_name NOT LIKE 'tg\\_%' ORDER BY column_name");
}

constexpr uint8_t kV = schema::kFormValue;

std::vector<TestColumn> ThermoV1(std::vector<uint8_t> battery_form) {
  return {
      {.path = "/device_id",
       .type = wire::ColumnType::String,
       .form = {kV, kV},
       .strings = {"d1", "tok:k1:AAAA"}},
      {.path = "/ts",
       .type = wire::ColumnType::Timestamp,
       .form = {kV, schema::kFormRfc3339},
       .longs = {1764000000000, 1764000000250}},
      {.path = "/temp",
       .type = wire::ColumnType::Number,
       .form = {schema::kFormFixed0 + 2, 0},
       .doubles = {21.5, 0}},
      {.path = "/battery",
       .type = wire::ColumnType::Integer,
       .form = std::move(battery_form),
       .longs = {97, 96}},
  };
}

}  // namespace

TEST_CASE("PostgresLandingStore lands schema version 1 into typed columns", "[postgres][schemas]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  testing::ScratchDir dir;
  auto sqlite = SqliteLandingStore::Open(dir.path(), clock);
  REQUIRE(sqlite.ok());
  const std::string batch = BuildSchemaBatch("b1", 1, "thermo", 1, ThermoV1({kV, kV}));
  REQUIRE(store->Land(DecodeSchemaBatch(batch)).ok());
  REQUIRE((*sqlite)->Land(DecodeSchemaBatch(batch)).ok());
  REQUIRE(store->Land(DecodeSchemaBatch(batch)).ok());  // a duplicate adds no row
  PgConnPtr conn = Connect(url);
  CHECK(ColumnTypes(conn.get(), "thermo") ==
        std::vector<std::string>{"battery|bigint", "device_id|text", "temp|double precision",
                                 "ts|timestamp with time zone"});
  CHECK(Rows(conn.get(),
             "SET TIME ZONE 'UTC'; SELECT tg_agent_id, tg_seq, tg_device_id, tg_schema_version,"
             " device_id, ts, temp, battery FROM tidegate_payload.thermo ORDER BY tg_seq") ==
        std::vector<std::string>{
            "gw-01|1|d1|1|d1|2025-11-24 16:00:00+00|21.5|97",
            "gw-01|2|d1|1|tok:k1:AAAA|2025-11-24 16:00:00.25+00|-|96",
        });
  CHECK(Rows(conn.get(), "SELECT name, version, definition FROM payload_schemas") ==
        std::vector<std::string>{
            R"(thermo|1|[{"path":"/device_id","type":"string"},{"path":"/ts","type":"timestamp"},)"
            R"({"path":"/temp","type":"number"},{"path":"/battery","type":"integer"}])"});
  // The events table and dump are as before: the whole payloads, as SQLite lands them.
  const std::string dumped = DumpToString(url, "events");
  CHECK(dumped.find(R"("payload":{"device_id":"d1","ts":1764000000000,"temp":21.50,)"
                    R"("battery":97}})") != std::string::npos);
  CHECK(dumped == DumpToString(dir.path(), "events"));
}

TEST_CASE("PostgresLandingStore migrates a schema table when version 2 adds and widens fields",
          "[postgres][schemas]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  REQUIRE(store->Land(DecodeSchemaBatch(BuildSchemaBatch("b1", 1, "thermo", 1, ThermoV1({kV, kV}))))
              .ok());
  // Version 2: battery widened integer -> number, an optional rssi added (absent in row 2).
  std::vector<TestColumn> v2 = ThermoV1({kV, kV});
  v2[3] = {.path = "/battery",
           .type = wire::ColumnType::Number,
           .form = {kV, kV},
           .doubles = {95.5, 95}};
  v2.push_back(
      {.path = "/rssi", .type = wire::ColumnType::Integer, .form = {kV, 0}, .longs = {-71, 0}});
  REQUIRE(store->Land(DecodeSchemaBatch(BuildSchemaBatch("b2", 3, "thermo", 2, v2))).ok());
  // Version 1 still arrives (another gateway not yet updated): it lands in the same table.
  REQUIRE(store->Land(DecodeSchemaBatch(BuildSchemaBatch("b3", 5, "thermo", 1, ThermoV1({kV, 0}))))
              .ok());
  PgConnPtr conn = Connect(url);
  CHECK(ColumnTypes(conn.get(), "thermo") ==
        std::vector<std::string>{"battery|double precision", "device_id|text", "rssi|bigint",
                                 "temp|double precision", "ts|timestamp with time zone"});
  CHECK(Rows(conn.get(),
             "SELECT tg_seq, tg_schema_version, battery, rssi FROM tidegate_payload.thermo"
             " ORDER BY tg_seq") == std::vector<std::string>{"1|1|97|-", "2|1|96|-", "3|2|95.5|-71",
                                                             "4|2|95|-", "5|1|97|-", "6|1|-|-"});
  CHECK(Rows(conn.get(), "SELECT version FROM payload_schemas ORDER BY version") ==
        std::vector<std::string>{"1", "2"});
}

TEST_CASE("PostgresLandingStore refuses an incompatible schema redefinition whole",
          "[postgres][schemas]") {
  std::string url = FreshDb();
  FixedClock clock;
  auto store = OpenPg(url, clock);
  REQUIRE(store->Land(DecodeSchemaBatch(BuildSchemaBatch("b1", 1, "thermo", 1, ThermoV1({kV, kV}))))
              .ok());
  std::vector<TestColumn> bad = ThermoV1({kV, kV});
  std::string want;
  int64_t version = 2;
  SECTION("a type narrowed or changed") {
    bad[2] = {.path = "/temp",
              .type = wire::ColumnType::String,
              .form = {kV, kV},
              .strings = {"21.5", "x"}};
    want =
        "schema thermo v2 is incompatible with v1: field /temp changes type from number to "
        "string";
  }
  SECTION("a field removed") {
    bad.pop_back();
    want = "schema thermo v2 is incompatible with v1: field /battery is removed";
  }
  SECTION("the same version with another definition") {
    bad.pop_back();
    version = 1;
    want = "schema thermo v1 was first seen with another definition";
  }
  SECTION("a new version once the registry is full") {
    bad = ThermoV1({kV, kV});
    PgConnPtr conn = Connect(url);
    Query(conn.get(),
          "INSERT INTO payload_schemas (name, version, definition, first_seen)"
          " SELECT 'filler' || g, 1, '[]', 0 FROM generate_series(2, 1024) AS g");
    want = "schema thermo v2 is not registered: the registry already holds 1024 schema versions";
  }
  const std::string batch = BuildSchemaBatch("b2", 3, "thermo", version, bad);
  auto landed = store->Land(DecodeSchemaBatch(batch));
  REQUIRE_FALSE(landed.ok());
  CHECK(landed.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(landed.status().message(), Catch::Matchers::StartsWith(want));
  // Never half-landed: no batch row, no event, no typed row, no registry row, no migration.
  PgConnPtr conn = Connect(url);
  CHECK(Query(conn.get(), "SELECT count(*) FROM batches") == "1");
  CHECK(Query(conn.get(), "SELECT count(*) FROM events") == "2");
  CHECK(Query(conn.get(), "SELECT count(*) FROM tidegate_payload.thermo") == "2");
  CHECK(Query(conn.get(), "SELECT count(*) FROM payload_schemas WHERE name = 'thermo'") == "1");
  CHECK(ColumnTypes(conn.get(), "thermo")[2] == "temp|double precision");
  // The collector rejects it (the agent dead-letters it) rather than asking for a retry.
  BatchIntake intake(*store, {}, nullptr, nullptr);
  IntakeOutcome out = intake.Accept("b2", testing::Zstd(batch), nullptr);
  CHECK(out.verdict == IntakeVerdict::kRejected);
  CHECK_THAT(out.reason, Catch::Matchers::Contains(want));
  CHECK(Query(conn.get(), "SELECT count(*) FROM events") == "2");
}

}  // namespace tidegate::collector
