// SPDX-License-Identifier: Apache-2.0
#include "collector/store/sqlite_landing_store.h"

#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "collector/store/sqlite_landing_sql.h"
#include "collector/test_util.h"
#include "schema/batch_view.h"

namespace tidegate::collector {
namespace {

using testing::ScratchDir;
using testing::TestBatch;
using testing::TestWindow;

class FakeClock : public Clock {
 public:
  int64_t NowUnixMs() override { return 1764000009000; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
};

schema::DecodedBatch Decode(const TestBatch& spec) {
  auto batch = schema::DecodeBatch(testing::BuildBatch(spec));
  REQUIRE(batch.ok());
  return std::move(batch).value();
}

std::unique_ptr<LandingStore> OpenStore(const ScratchDir& dir, Clock& clock) {
  auto store = SqliteLandingStore::Open(dir.path(), clock);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
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

TEST_CASE("LandingStore lands every event and window result of a batch", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  TestBatch spec;
  spec.windows = {TestWindow{}};
  auto outcome = store->Land(Decode(spec));
  REQUIRE(outcome.ok());
  CHECK_FALSE(outcome->duplicate);
  CHECK(outcome->events == 3);
  CHECK(outcome->window_results == 1);
  auto events = Events(*store);
  REQUIRE(events.size() == 3);
  CHECK(events[0].agent_id == "gw-01");
  CHECK(events[0].seq == 1);
  CHECK(events[2].seq == 3);
  CHECK(events[2].flags == schema::kEventFlagLate);
  CHECK(events[1].payload == R"({"n": 2})");
  auto aggregates = Aggregates(*store);
  REQUIRE(aggregates.size() == 1);
  CHECK(aggregates[0].measures_json == R"({"/temp":{"count":3,"avg":20.5}})");
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 1);
  CHECK(counts->events == 3);
  CHECK(counts->window_results == 1);
}

TEST_CASE("concurrent Land calls are group-committed and land each batch once", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  constexpr int kThreads = 8, kBatches = 20;
  constexpr int64_t kLanded = int64_t{kThreads} * kBatches;
  // Each thread lands its own batches, then one of the next thread's again (a duplicate
  // that may share a transaction with the original).
  auto spec_of = [](int thread, int k) {
    TestBatch spec;
    spec.batch_id = "gw-01-" + std::to_string(thread) + "-" + std::to_string(k);
    spec.first_seq = 1 + 3 * static_cast<uint64_t>(thread * kBatches + k);
    return spec;
  };
  std::vector<schema::DecodedBatch> batches, again;
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kBatches; ++k) batches.push_back(Decode(spec_of(t, k)));
    again.push_back(Decode(spec_of((t + 1) % kThreads, 0)));
  }
  std::atomic<int> failed{0}, landed{0}, duplicate{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k <= kBatches; ++k) {
        auto outcome = store->Land(k < kBatches ? batches[t * kBatches + k] : again[t]);
        if (!outcome.ok()) failed++;
        if (outcome.ok()) (outcome->duplicate ? duplicate : landed)++;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failed == 0);
  CHECK(landed == kLanded);
  CHECK(duplicate == kThreads);
  CHECK(Events(*store).size() == static_cast<size_t>(3 * kLanded));
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == kLanded);
  CHECK(counts->batches_duplicate == kThreads);
  CHECK(counts->events == 3 * kLanded);
}

TEST_CASE("LandingStore answers a repeated batch id as a duplicate and lands nothing",
          "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  TestBatch spec;
  REQUIRE(store->Land(Decode(spec)).ok());
  spec.first_seq = 100;  // different content, same id: the id alone decides
  auto again = store->Land(Decode(spec));
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  CHECK(again->events == 0);
  CHECK(Events(*store).size() == 3);
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 1);
  CHECK(counts->batches_duplicate == 1);
}

TEST_CASE("LandingStore deduplicates on (agent_id, batch_id), not the batch id alone",
          "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  TestBatch first;
  first.batch_id = "b-1";
  TestBatch other = first;
  other.agent_id = "gw-02";  // another gateway that happens to use the same batch id
  auto a = store->Land(Decode(first));
  auto b = store->Land(Decode(other));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK_FALSE(a->duplicate);
  CHECK_FALSE(b->duplicate);
  CHECK(b->events == 3);
  auto again = store->Land(Decode(other));
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  auto events = Events(*store);
  REQUIRE(events.size() == 6);
  CHECK(events[0].agent_id == "gw-01");
  CHECK(events[3].agent_id == "gw-02");
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 2);
  CHECK(counts->batches_duplicate == 1);
}

TEST_CASE("LandingStore keeps dedup and counters across a restart", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  TestBatch spec;
  REQUIRE(OpenStore(dir, clock)->Land(Decode(spec)).ok());
  auto store = OpenStore(dir, clock);
  auto again = store->Land(Decode(spec));
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  CHECK(Events(*store).size() == 3);
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 1);
  CHECK(counts->batches_duplicate == 1);
}

// The collector answers a batch only after its commit, and the agent then deletes it: the
// commit must reach the disk (synchronous FULL fsyncs the WAL at every commit; NORMAL, in
// WAL mode, only at checkpoints, so a power cut could lose acknowledged batches).
TEST_CASE("the SQLite landing store syncs every commit before a batch is answered", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = SqliteLandingStore::Open(dir.path(), clock);
  REQUIRE(store.ok());
  auto synchronous = (*store)->PragmaInt("synchronous");
  REQUIRE(synchronous.ok());
  std::fprintf(stderr, "landing store: PRAGMA synchronous = %lld (2 is FULL)\n",
               static_cast<long long>(*synchronous));
  CHECK(*synchronous == 2);
}

TEST_CASE("LandingStore keeps the highest revision of a window", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  auto land = [&](const std::string& id, uint32_t revision, bool final, double count) {
    TestBatch spec;
    spec.batch_id = id;
    spec.events = 0;
    spec.windows = {TestWindow{.revision = revision, .final = final, .count = count}};
    REQUIRE(store->Land(Decode(spec)).ok());
    auto aggregates = Aggregates(*store);
    REQUIRE(aggregates.size() == 1);
    return aggregates[0];
  };
  CHECK(land("b1", 2, false, 5).revision == 2);
  LandedAggregate older = land("b2", 1, true, 4);
  CHECK(older.revision == 2);
  CHECK_FALSE(older.final);
  CHECK(older.measures_json == R"({"/temp":{"count":5,"avg":20.5}})");
  LandedAggregate same_final = land("b3", 2, true, 5);
  CHECK(same_final.final);
  LandedAggregate newer = land("b4", 3, true, 6);
  CHECK(newer.revision == 3);
  CHECK(newer.measures_json == R"({"/temp":{"count":6,"avg":20.5}})");
}

TEST_CASE("LandingStore keeps windows of different keys apart", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  TestBatch spec;
  spec.windows = {TestWindow{.group_key = "dev-2"}, TestWindow{.group_key = "dev-1"},
                  TestWindow{.window_start = 1764000060000}};
  REQUIRE(store->Land(Decode(spec)).ok());
  spec.batch_id = "other-agent";
  spec.agent_id = "gw-02";
  REQUIRE(store->Land(Decode(spec)).ok());
  auto aggregates = Aggregates(*store);
  REQUIRE(aggregates.size() == 6);
  CHECK(aggregates[0].agent_id == "gw-01");
  CHECK(aggregates[0].group_key == "dev-1");
  CHECK(aggregates[1].window_start == 1764000060000);
  CHECK(aggregates[2].group_key == "dev-2");
}

TEST_CASE("SqliteLandingStore::OpenReadOnly reports a missing directory or database",
          "[collector]") {
  ScratchDir dir;
  SECTION("missing directory") {
    auto store = SqliteLandingStore::OpenReadOnly(dir.File("nope"));
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().code() == StatusCode::kNotFound);
  }
  SECTION("missing database") {
    auto store = SqliteLandingStore::OpenReadOnly(dir.path());
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().code() == StatusCode::kNotFound);
  }
  SECTION("not a database") {
    std::ofstream(dir.File(kLandingDbName)) << "this is not sqlite, just some text";
    auto store = SqliteLandingStore::OpenReadOnly(dir.path());
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().code() == StatusCode::kCorruption);
    FakeClock clock;
    CHECK_FALSE(SqliteLandingStore::Open(dir.path(), clock).ok());
  }
}

TEST_CASE("LandingStore refuses a database from a newer collector", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  OpenStore(dir, clock);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.File(kLandingDbName).c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteLandingStore::Open(dir.path(), clock);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kInvalidArgument);
}

void ExecOrFail(sqlite3* db, const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO((error != nullptr ? error : ""));
  sqlite3_free(error);
  REQUIRE(rc == SQLITE_OK);
}

int UserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version;", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return version;
}

TEST_CASE("LandingStore migrates a version 1 landing.db keeping its batches and events",
          "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  {
    // A landing.db as the version 1 collector wrote it: batches keyed by batch_id alone.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.File(kLandingDbName).c_str(), &db) == SQLITE_OK);
    ExecOrFail(db, sql::kCreateSchemaV1);
    ExecOrFail(db,
               "INSERT INTO batches VALUES ('gw-01-1', 'gw-01', 1, 3, 1764000000000,"
               " 1764000001000, 3, 0);"
               "INSERT INTO events (agent_id, seq, topic, device_id, event_time, ingest_time,"
               " flags, payload, batch_id) VALUES ('gw-01', 1, 't', 'd', 1, 2, 0, '{}',"
               " 'gw-01-1');"
               "INSERT INTO counters VALUES ('batches_landed', 1), ('events', 1);");
    sqlite3_close(db);
  }
  REQUIRE(UserVersion(dir.File(kLandingDbName)) == 1);
  SECTION("dump can still read it before any collector migrated it") {
    auto reader = SqliteLandingStore::OpenReadOnly(dir.path());
    REQUIRE(reader.ok());
    CHECK(Events(**reader).size() == 1);
  }
  auto store = OpenStore(dir, clock);
  CHECK(UserVersion(dir.File(kLandingDbName)) == sql::kSchemaVersion);
  TestBatch spec;  // gw-01's batch gw-01-1, landed by the old collector
  auto again = store->Land(Decode(spec));
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  spec.agent_id = "gw-02";
  auto other = store->Land(Decode(spec));
  REQUIRE(other.ok());
  CHECK_FALSE(other->duplicate);
  CHECK(Events(*store).size() == 4);
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 2);
  CHECK(counts->batches_duplicate == 1);
  CHECK(counts->events == 4);
  SECTION("a second open finds it migrated") {
    store.reset();
    auto reopened = OpenStore(dir, clock);
    CHECK(Events(*reopened).size() == 4);
  }
}

AgentRecord SampleAgent(std::string uid, std::string agent_id) {
  return {.instance_uid = std::move(uid),
          .agent_id = std::move(agent_id),
          .last_seen = 1000,
          .sequence_num = 7,
          .config_status = "failed",
          .config_hash = "ab01",
          .config_error = "signature does not verify",
          .healthy = true,
          .health_status = "ready",
          .effective_config_hash = "cd02"};
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

TEST_CASE("LandingStore keeps one agents row per OpAMP instance", "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  auto store = OpenStore(dir, clock);
  auto missing = store->FindAgent("00");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  AgentRecord b = SampleAgent("0b", "gw-b");
  AgentRecord a = SampleAgent("0a", "gw-a");
  REQUIRE(store->UpsertAgent(b).ok());
  REQUIRE(store->UpsertAgent(a).ok());
  a.sequence_num = 8;
  a.config_status = "applied";
  a.config_error.clear();
  a.healthy = false;
  a.last_seen = 2000;
  REQUIRE(store->UpsertAgent(a).ok());
  auto found = store->FindAgent("0a");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(**found == a);
  std::vector<AgentRecord> all = Agents(*store);
  REQUIRE(all.size() == 2);
  CHECK(all[0] == a);  // ordered by agent_id
  CHECK(all[1] == b);
  store.reset();
  auto reader = SqliteLandingStore::OpenReadOnly(dir.path());
  REQUIRE(reader.ok());
  CHECK(Agents(**reader).size() == 2);
  CHECK_FALSE((*reader)->UpsertAgent(a).ok());
}

TEST_CASE("a read-only landing.db from before version 3 lists no agents", "[collector]") {
  ScratchDir dir;
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.File(kLandingDbName).c_str(), &db) == SQLITE_OK);
    ExecOrFail(db, sql::kCreateSchemaV1);
    ExecOrFail(db, sql::kMigrateV1ToV2);
    sqlite3_close(db);
  }
  auto reader = SqliteLandingStore::OpenReadOnly(dir.path());
  REQUIRE(reader.ok());
  CHECK(Agents(**reader).empty());
}

TEST_CASE("LandingStore migrates a version 2 landing.db to version 3 with an agents table",
          "[collector]") {
  ScratchDir dir;
  FakeClock clock;
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.File(kLandingDbName).c_str(), &db) == SQLITE_OK);
    ExecOrFail(db, sql::kCreateSchemaV1);
    ExecOrFail(db, sql::kMigrateV1ToV2);
    sqlite3_close(db);
  }
  REQUIRE(UserVersion(dir.File(kLandingDbName)) == 2);
  auto store = OpenStore(dir, clock);
  CHECK(UserVersion(dir.File(kLandingDbName)) == 3);
  REQUIRE(store->UpsertAgent(SampleAgent("0a", "gw-a")).ok());
  CHECK(Agents(*store).size() == 1);
}

}  // namespace
}  // namespace tidegate::collector
