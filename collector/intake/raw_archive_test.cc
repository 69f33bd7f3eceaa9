// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/raw_archive.h"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collector/sources/batch_endpoint.h"
#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"

namespace tidegate::collector {
namespace {

using testing::BuildBatch;
using testing::ScratchDir;
using testing::TestBatch;
using testing::Zstd;

class FixedClock : public Clock {
 public:
  int64_t NowUnixMs() override { return 1764000009000; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("RawFileName keeps safe batch ids and defuses the rest", "[collector]") {
  CHECK(RawFileName("gw-01-3f2a_17.42") == "gw-01-3f2a_17.42");
  CHECK(RawFileName("../../etc/passwd") == "_._.._etc_passwd");
  CHECK(RawFileName("..") == "_.");
  CHECK(RawFileName(".hidden") == "_hidden");
  CHECK(RawFileName("") == "_");
  CHECK(RawFileName(std::string("a\0b/c d\xff", 8)) == "a_b_c_d_");
  CHECK(RawFileName(std::string(300, 'x')) == std::string(200, 'x'));
}

TEST_CASE("RawArchive writes the body atomically and a resend replaces it", "[collector]") {
  ScratchDir dir;
  RawArchive archive(dir.path());
  const std::string body("\x28\xb5\x2f\xfd binary \0 bytes", 19);
  REQUIRE(archive.Keep("gw-01-1", body).ok());
  CHECK(ReadAll(dir.File("gw-01-1.tgb.zst")) == body);
  struct stat st {};
  REQUIRE(::stat(dir.File("gw-01-1.tgb.zst").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);

  REQUIRE(archive.Keep("gw-01-1", "second").ok());
  CHECK(ReadAll(dir.File("gw-01-1.tgb.zst")) == "second");
  CHECK(Names(dir.path()) == std::vector<std::string>{"gw-01-1.tgb.zst"});  // no temp left
}

TEST_CASE("RawArchive reports a directory it cannot write to", "[collector]") {
  ScratchDir dir;
  RawArchive archive(dir.File("missing"));
  Status status = archive.Keep("gw-01-1", "x");
  CHECK(status.code() == StatusCode::kIOError);
  CHECK_THAT(status.message(), Catch::Contains("missing"));
}

TEST_CASE("BatchEndpoint with --keep-raw keeps each body as received, even undecodable",
          "[collector]") {
  ScratchDir data;
  ScratchDir raw_dir;
  FixedClock clock;
  auto store = SqliteLandingStore::Open(data.path(), clock);
  REQUIRE(store.ok());
  RawArchive raw(raw_dir.path());
  BatchIntake intake(**store, BatchIntake::Limits(), &raw);
  BatchEndpoint endpoint(intake);

  TestBatch spec;
  const std::string wire = Zstd(BuildBatch(spec));
  HttpReply landed = endpoint.HandleBody(spec.batch_id, wire);
  CHECK(landed.status == 200);
  CHECK(ReadAll(raw_dir.File(spec.batch_id + ".tgb.zst")) == wire);

  HttpReply bad = endpoint.HandleBody("gw-01/../x", "not zstd");
  CHECK(bad.status == 400);
  CHECK(ReadAll(raw_dir.File("gw-01_.._x.tgb.zst")) == "not zstd");

  SECTION("a body that cannot be kept is a 500 the agent retries, and is not landed") {
    RawArchive broken(raw_dir.File("gone"));
    BatchIntake failing_intake(**store, BatchIntake::Limits(), &broken);
    BatchEndpoint failing(failing_intake);
    TestBatch other;
    other.batch_id = "gw-01-9";
    other.first_seq = 9;
    HttpReply reply = failing.HandleBody(other.batch_id, Zstd(BuildBatch(other)));
    CHECK(reply.status == 500);
    auto counts = (*store)->Counts();
    REQUIRE(counts.ok());
    CHECK(counts->batches_landed == 1);
  }
}

}  // namespace
}  // namespace tidegate::collector
