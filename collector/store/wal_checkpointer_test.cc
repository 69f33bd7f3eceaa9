// SPDX-License-Identifier: Apache-2.0
#include "collector/store/wal_checkpointer.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"
#include "schema/batch_view.h"

namespace tidegate::collector {
namespace {

using testing::ScratchDir;

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, Closer>;

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO(sql << ": " << (error != nullptr ? error : ""));
  sqlite3_free(error);
  REQUIRE(rc == SQLITE_OK);
}

// A writer in WAL mode as the landing store opens it, with a table of blobs.
Db OpenWriter(const std::string& path) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          nullptr) == SQLITE_OK);
  Db db(raw);
  Exec(db.get(), "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  Exec(db.get(), "CREATE TABLE t (b BLOB)");
  return db;
}

// One transaction of `rows` blobs of 4,000 bytes: about one WAL page each.
void WriteRows(sqlite3* db, int rows) {
  Exec(db, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
               std::to_string(rows) + ") INSERT INTO t SELECT randomblob(4000) FROM n; COMMIT;");
}

// A scratch database open as the landing store opens it, with a checkpointer to start.
// Declared before the checkpointer Start returns, so the writer outlives it.
struct WalDb {
  ScratchDir dir;
  std::string path = dir.File("t.db");
  Db writer = OpenWriter(path);

  std::unique_ptr<WalCheckpointer> Start(WalCheckpointer::Options options) {
    auto started = WalCheckpointer::Start(writer.get(), path, options);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    return std::move(started).value();
  }
  void Write(int rows) { WriteRows(writer.get(), rows); }
};

// Waits (at most 60 s, for a slow sanitizer build) until `done` holds.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST_CASE("a commit past background_frames has the thread checkpoint the whole WAL",
          "[collector][checkpoint]") {
  WalDb db;
  auto checkpointer = db.Start({.background_frames = 64, .inline_frames = INT_MAX});
  db.Write(100);
  CHECK(checkpointer->stats().last_frames >= 100);
  REQUIRE(WaitFor([&] { return checkpointer->stats().background >= 1; }));
  // The rows are in the database file now, not only in the WAL.
  CHECK(std::filesystem::file_size(db.path) >= uint64_t{100} * 4000);
  // The checkpoint copied every frame: the next commit starts the WAL again from its start.
  db.Write(1);
  const WalCheckpointStats stats = checkpointer->stats();
  CHECK(stats.last_frames < 64);
  CHECK(stats.inline_ == 0);
  CHECK(stats.failed == 0);
}

TEST_CASE("the checkpoints fsync the file before the WAL may start again over its frames",
          "[collector][checkpoint]") {
  // With synchronous OFF a power cut after the WAL restarted could lose pages the file had
  // not yet got to the disk: batches already answered (SPEC: an answer means on disk).
  WalDb db;
  auto checkpointer = db.Start({});
  CHECK(checkpointer->synchronous() == 2);  // FULL
}

TEST_CASE("a commit below background_frames leaves the WAL alone", "[collector][checkpoint]") {
  WalDb db;
  auto checkpointer = db.Start({.background_frames = 64, .inline_frames = INT_MAX});
  db.Write(10);
  db.Write(10);
  // No checkpoint ran: the second commit appended to the first one's frames.
  CHECK(checkpointer->stats().last_frames >= 20);
  CHECK(checkpointer->stats().background == 0);
}

TEST_CASE("a reader holding old frames neither loops the thread nor loses the WAL's restart",
          "[collector][checkpoint]") {
  WalDb db;
  db.Write(1);
  auto checkpointer = db.Start({.background_frames = 64, .inline_frames = INT_MAX});
  // A read transaction on a connection of its own: its snapshot keeps every later frame
  // from being copied into the file.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(db.path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  Db reader(raw);
  Exec(reader.get(), "BEGIN; SELECT count(*) FROM t;");
  for (int i = 0; i < 5; ++i) db.Write(100);
  REQUIRE(WaitFor([&] { return checkpointer->stats().background >= 1; }));
  // Each attempt that the reader stopped waits for another 64 pages of commits: at most one
  // attempt per commit, however long the reader stays.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(checkpointer->stats().background <= 5);
  CHECK(checkpointer->stats().last_frames >= 500);
  Exec(reader.get(), "COMMIT;");
  // The reader gone, the next chunk copies everything and the WAL starts again.
  db.Write(100);
  REQUIRE(WaitFor([&] {
    db.Write(1);
    return checkpointer->stats().last_frames < 64;
  }));
  CHECK(checkpointer->stats().failed == 0);
}

TEST_CASE("a commit past inline_frames checkpoints on the writer's connection at once",
          "[collector][checkpoint]") {
  WalDb db;
  // The thread is never woken: this is the bound when it falls behind.
  auto checkpointer = db.Start({.background_frames = INT_MAX, .inline_frames = 64});
  db.Write(100);
  CHECK(checkpointer->stats().inline_ == 1);
  CHECK(std::filesystem::file_size(db.path) >= uint64_t{100} * 4000);
  db.Write(1);
  CHECK(checkpointer->stats().last_frames < 64);
  CHECK(checkpointer->stats().background == 0);
}

TEST_CASE("a WAL that grew past the inline bound is cut back to it", "[collector][checkpoint]") {
  WalDb db;
  auto checkpointer = db.Start({.background_frames = INT_MAX, .inline_frames = 64});
  db.Write(300);  // one transaction: the WAL grows to about 300 pages
  db.Write(1);    // starts the WAL again, truncating the file to the limit
  CHECK(std::filesystem::file_size(db.path + "-wal") <= uint64_t{64} * 4096);
}

TEST_CASE("the landing store checkpoints its WAL on its own thread", "[collector][checkpoint]") {
  class FixedClock : public Clock {
   public:
    int64_t NowUnixMs() override { return 1764000009000; }
    std::chrono::steady_clock::time_point Monotonic() override { return {}; }
  } clock;
  ScratchDir dir;
  auto opened = SqliteLandingStore::Open(dir.path(), clock);
  REQUIRE(opened.ok());
  std::unique_ptr<SqliteLandingStore> store = std::move(opened).value();
  // 20 batches of 1,000 events with 200-byte device ids: well past 1,000 pages of WAL.
  for (int i = 0; i < 20; ++i) {
    testing::TestBatch spec;
    spec.batch_id = "gw-01-" + std::to_string(i);
    spec.first_seq = static_cast<uint64_t>(i) * 1000 + 1;
    spec.events = 1000;
    spec.device_id = std::string(200, 'd');
    auto batch = schema::DecodeBatch(testing::BuildBatch(spec));
    REQUIRE(batch.ok());
    REQUIRE(store->Land(batch.value()).ok());
  }
  REQUIRE(WaitFor([&] { return store->CheckpointStats().background >= 1; }));
  CHECK(store->CheckpointStats().inline_ == 0);
  CHECK(store->CheckpointStats().failed == 0);
  auto counts = store->Counts();
  REQUIRE(counts.ok());
  CHECK(counts.value().events == 20000);
  store.reset();
  // Reading does not start a checkpointer.
  auto reader = SqliteLandingStore::OpenReadOnly(dir.path());
  REQUIRE(reader.ok());
  CHECK(reader.value()->CheckpointStats().background == 0);
}

}  // namespace
}  // namespace tidegate::collector
