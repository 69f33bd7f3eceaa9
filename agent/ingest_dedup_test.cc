// SPDX-License-Identifier: Apache-2.0
// Ingest dedup across restarts and across the upgrade from the legacy BLAKE2b keys, with the
// real pipeline, group committer and SQLite buffer: a buffer keeps its random SipHash key, and
// keys an earlier release stored still catch repeats until they expire.
#include <sodium.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>

#include "agent/config_loader.h"
#include "agent/dedup_restore.h"
#include "agent/ingest_pipeline.h"
#include "buffer/dedup_chunk.h"
#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "filters/dedup_key.h"
#include "tests/support/temp_dir.h"

namespace tidegate::agent {
namespace {

using testing::TempDir;

constexpr const char* kTopic = "devices/d1/telemetry";
constexpr const char* kFirst = R"({"device_id":"d1","ts":1764000000000,"temp":20.5})";
constexpr const char* kSecond = R"({"device_id":"d1","ts":1764000000000,"temp":21.5})";

Config TestConfig(const std::string& state_dir) {
  auto config = ParseConfig("agent: {id: gw-1, state_dir: " + state_dir +
                                "}\nsource:\n  mqtt:\n    topics:\n"
                                "      - filter: devices/+/telemetry\n"
                                "uplink: {url: https://127.0.0.1:8443/v1/batches}\n",
                            "test.yaml");
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

std::unique_ptr<buffer::SqliteStore> OpenStore(const std::string& dir) {
  auto store = buffer::SqliteStore::Open({.state_dir = dir});
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// The agent's ingest path on one buffer, set up as Agent::BuildPipeline does; legacy_until
// overrides the buffer's legacy deadline when given.
struct Ingest {
  Ingest(const Config& config, buffer::SqliteStore& store,
         std::optional<int64_t> legacy_until = std::nullopt)
      : committer(store, buffer::CommitterOptions{}),
        pipeline(config, committer, store.age_clock(), std::make_shared<PrivacyStage>()) {
    pipeline.SetDedupHash(store.dedup_hash_key(),
                          legacy_until.value_or(store.dedup_legacy_until()));
    REQUIRE(RestoreDedupWindow(store, pipeline).ok());
  }
  uint64_t duplicates() const { return pipeline.metrics().duplicates.load(); }
  buffer::GroupCommitter committer;
  IngestPipeline pipeline;
};

// Makes dir's buffer look written by a release with the legacy hash: no key in meta, and
// the legacy key of (kTopic, kFirst) in the window for 10 more minutes. Returns its expiry.
int64_t MakeLegacyBuffer(const std::string& dir) {
  const int64_t expires_at = OpenStore(dir)->age_clock().Now().age_ms + 600'000;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir + "/buffer.db").c_str(), &db) == SQLITE_OK);
  const uint64_t key = filters::LegacyDedupKey("d1", "", kTopic, kFirst);
  std::string chunk;
  buffer::AppendDedupEntry(key, expires_at, &chunk);
  std::string hex(chunk.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(chunk.data()),
                 chunk.size());
  hex.pop_back();
  const std::string sql =
      "DELETE FROM meta WHERE key IN ('dedup_hash_key', 'dedup_legacy_until');"
      "DELETE FROM dedup_chunks; INSERT INTO dedup_chunks(last_expires, count, keys) VALUES(" +
      std::to_string(expires_at) + ", 1, X'" + hex + "');";
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  return expires_at;
}

TEST_CASE("each buffer has its own dedup hash key and keeps it across restarts", "[dedup]") {
  TempDir a("dedup-a"), b("dedup-b");
  filters::DedupHashKey key_a;
  {
    auto store = OpenStore(a.path());
    key_a = store->dedup_hash_key();
    CHECK(store->dedup_legacy_until() == 0);  // a new buffer has no legacy keys
    CHECK(key_a != filters::DedupHashKey{});
  }
  CHECK(OpenStore(a.path())->dedup_hash_key() == key_a);
  CHECK(OpenStore(b.path())->dedup_hash_key() != key_a);
}

TEST_CASE("a repeat is caught after a restart with the buffer's key", "[dedup]") {
  TempDir dir("dedup-restart");
  const Config config = TestConfig(dir.path());
  {
    auto store = OpenStore(dir.path());
    Ingest ingest(config, *store);
    ingest.pipeline.OnMessage(kTopic, kFirst);
    CHECK(ingest.duplicates() == 0);
    REQUIRE(ingest.committer.Stop().ok());
  }
  auto store = OpenStore(dir.path());
  Ingest ingest(config, *store);
  ingest.pipeline.OnMessage(kTopic, kFirst);
  CHECK(ingest.duplicates() == 1);
  ingest.pipeline.OnMessage(kTopic, kSecond);
  CHECK(ingest.duplicates() == 1);
}

TEST_CASE("keys of the legacy hash catch repeats after the upgrade until they expire", "[dedup]") {
  TempDir dir("dedup-legacy");
  const Config config = TestConfig(dir.path());
  const int64_t expires = MakeLegacyBuffer(dir.path());
  {
    auto store = OpenStore(dir.path());  // the upgrade: a key is made, the deadline noted
    CHECK(store->dedup_legacy_until() == expires);
    Ingest ingest(config, *store);
    ingest.pipeline.OnMessage(kTopic, kFirst);  // stored by the "earlier release"
    CHECK(ingest.duplicates() == 1);
    ingest.pipeline.OnMessage(kTopic, kSecond);  // new: stored under the new key
    CHECK(ingest.duplicates() == 1);
    REQUIRE(ingest.committer.Stop().ok());
  }
  auto store = OpenStore(dir.path());  // a restart within the period keeps the deadline
  CHECK(store->dedup_legacy_until() == expires);
  Ingest ingest(config, *store);
  ingest.pipeline.OnMessage(kTopic, kFirst);
  ingest.pipeline.OnMessage(kTopic, kSecond);
  CHECK(ingest.duplicates() == 2);
}

TEST_CASE("without the legacy check an upgraded buffer would forget its window", "[dedup]") {
  // The control for the case above: the same buffer, the legacy deadline ignored.
  TempDir dir("dedup-legacy-off");
  const Config config = TestConfig(dir.path());
  MakeLegacyBuffer(dir.path());
  auto store = OpenStore(dir.path());
  Ingest ingest(config, *store, /*legacy_until=*/0);
  ingest.pipeline.OnMessage(kTopic, kFirst);
  CHECK(ingest.duplicates() == 0);
}

}  // namespace
}  // namespace tidegate::agent
