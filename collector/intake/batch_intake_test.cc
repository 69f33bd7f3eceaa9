// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/batch_intake.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"
#include "tests/support/zstd_dictionaries.h"

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

// A store whose every write fails as an unreachable database does.
class FailingStore : public LandingStore {
 public:
  Result<LandOutcome> Land(const schema::DecodedBatch&) override {
    return Unavailable("database unreachable");
  }
  Result<LandingCounts> Counts() override { return LandingCounts{}; }
  Status ForEachEvent(const std::function<Status(const LandedEvent&)>&) override {
    return Status::Ok();
  }
  Status ForEachAggregate(const std::function<Status(const LandedAggregate&)>&) override {
    return Status::Ok();
  }
  Status UpsertAgent(const AgentRecord&) override { return Unavailable("database unreachable"); }
  Result<std::optional<AgentRecord>> FindAgent(const std::string&) override {
    return Unavailable("database unreachable");
  }
  Status ForEachAgent(const std::function<Status(const AgentRecord&)>&) override {
    return Status::Ok();
  }
};

struct Fixture {
  Fixture() {
    auto opened = SqliteLandingStore::Open(dir.path(), clock);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
  }
  ScratchDir dir;
  FixedClock clock;
  std::unique_ptr<SqliteLandingStore> store;
};

TEST_CASE("BatchIntake lands a batch once and answers a repeat as a duplicate", "[collector]") {
  Fixture f;
  BatchIntake intake(*f.store, {});
  TestBatch spec;
  spec.windows = {testing::TestWindow{}};
  const std::string wire = Zstd(BuildBatch(spec));
  IntakeOutcome first = intake.Accept(spec.batch_id, wire);
  CHECK(first.verdict == IntakeVerdict::kLanded);
  CHECK(first.batch_id == spec.batch_id);
  CHECK(first.agent_id == spec.agent_id);
  CHECK(first.events == 3);
  CHECK(first.window_results == 1);
  IntakeOutcome again = intake.Accept(spec.batch_id, wire);
  CHECK(again.verdict == IntakeVerdict::kDuplicate);
  CHECK(again.events == 0);
  auto counts = intake.Counts();
  REQUIRE(counts.ok());
  CHECK(counts->landed.batches_landed == 1);
  CHECK(counts->landed.batches_duplicate == 1);
  CHECK(counts->rejected == 0);
}

TEST_CASE("BatchIntake rejects what can never be accepted, by kind", "[collector]") {
  Fixture f;
  BatchIntake intake(*f.store, {.max_body_bytes = 4096, .max_decompressed_bytes = 1 << 20});
  TestBatch spec;
  const std::string wire = Zstd(BuildBatch(spec));
  SECTION("too large") {
    IntakeOutcome out = intake.Accept(spec.batch_id, std::string(4097, 'x'));
    CHECK(out.verdict == IntakeVerdict::kRejected);
    CHECK(out.reject_kind == RejectKind::kTooLarge);
  }
  SECTION("not zstd") {
    IntakeOutcome out = intake.Accept(spec.batch_id, "not zstd");
    CHECK(out.verdict == IntakeVerdict::kRejected);
    CHECK(out.reject_kind == RejectKind::kInvalid);
    CHECK(out.batch_id.empty());
  }
  SECTION("not a batch") {
    IntakeOutcome out = intake.Accept(spec.batch_id, Zstd("garbage garbage garbage"));
    CHECK(out.verdict == IntakeVerdict::kRejected);
    CHECK(out.reject_kind == RejectKind::kInvalid);
  }
  SECTION("the claimed batch id is not the body's") {
    IntakeOutcome out = intake.Accept("gw-01-2", wire);
    CHECK(out.verdict == IntakeVerdict::kRejected);
    CHECK(out.reject_kind == RejectKind::kInvalid);
    CHECK(out.batch_id == spec.batch_id);
  }
  SECTION("a text field holds a NUL byte (PostgreSQL text cannot hold it)") {
    TestBatch nul;
    nul.device_id = std::string("dev\0x", 5);
    IntakeOutcome out = intake.Accept(nul.batch_id, Zstd(BuildBatch(nul)));
    CHECK(out.verdict == IntakeVerdict::kRejected);
    CHECK(out.reject_kind == RejectKind::kInvalid);
    CHECK(out.reason == "event device_id contains a NUL byte, which the landing store cannot hold");
    CHECK(out.batch_id == nul.batch_id);
  }
  SECTION("the sender's identity does not name the agent") {
    std::vector<std::string> identities = {"gw-02"};
    IntakeOutcome out = intake.Accept(spec.batch_id, wire, &identities);
    CHECK(out.verdict == IntakeVerdict::kRejected);
    CHECK(out.reject_kind == RejectKind::kForbidden);
    auto counts = intake.Counts();
    REQUIRE(counts.ok());
    CHECK(counts->forbidden == 1);
  }
  auto counts = intake.Counts();
  REQUIRE(counts.ok());
  CHECK(counts->rejected == 1);
  CHECK(counts->landed.batches_landed == 0);
}

TEST_CASE("BatchIntake accepts a batch whose agent the sender's identity names", "[collector]") {
  Fixture f;
  BatchIntake intake(*f.store, {});
  TestBatch spec;
  std::vector<std::string> identities = {"other", spec.agent_id};
  IntakeOutcome out = intake.Accept(spec.batch_id, Zstd(BuildBatch(spec)), &identities);
  CHECK(out.verdict == IntakeVerdict::kLanded);
}

TEST_CASE("BatchIntake answers a storage error with retry, never a rejection", "[collector]") {
  FailingStore store;
  BatchIntake intake(store, {});
  TestBatch spec;
  IntakeOutcome out = intake.Accept(spec.batch_id, Zstd(BuildBatch(spec)));
  CHECK(out.verdict == IntakeVerdict::kRetry);
  CHECK(out.reason.find("storage") != std::string::npos);
  auto counts = intake.Counts();
  REQUIRE(counts.ok());
  CHECK(counts->rejected == 0);
}

TEST_CASE("BatchIntake counts rejections a source decided itself", "[collector]") {
  Fixture f;
  BatchIntake intake(*f.store, {});
  intake.CountRejection("wrong Content-Type");
  auto counts = intake.Counts();
  REQUIRE(counts.ok());
  CHECK(counts->rejected == 1);
  CHECK(counts->forbidden == 0);
}

}  // namespace
}  // namespace tidegate::collector

namespace tidegate::collector {
namespace {

// A batch compressed with the agent's uplink.compression.dictionary: landed with the
// dictionary; without it answered with a retry (the agent keeps the batch), counted apart and
// not as a rejection.
TEST_CASE("BatchIntake decompresses with the dictionary the frame names, or asks for a retry",
          "[collector][zdict]") {
  Fixture f;
  const std::string dictionary = tidegate::testing::TrainTestDictionary();
  TestBatch spec;
  const std::string wire = tidegate::testing::CompressWithDictionary(BuildBatch(spec), dictionary);

  BatchIntake without(*f.store, {});
  IntakeOutcome retry = without.Accept(spec.batch_id, wire);
  CHECK(retry.verdict == IntakeVerdict::kRetry);
  CHECK(retry.retry_kind == RetryKind::kMissingDictionary);
  CHECK(retry.reason == "zstd frame needs dictionary ID " +
                            std::to_string(tidegate::testing::TestDictionaryId(dictionary)) +
                            ", which is not loaded by this collector, retry later");
  auto counts = without.Counts();
  REQUIRE(counts.ok());
  CHECK(counts->rejected == 0);
  CHECK(counts->unknown_dictionary == 1);
  CHECK(counts->landed.batches_landed == 0);

  schema::DictionarySet set;
  REQUIRE(set.Add(dictionary, "test.dict").ok());
  BatchIntake with(*f.store, {}, nullptr, nullptr, &set);
  IntakeOutcome landed = with.Accept(spec.batch_id, wire);
  CHECK(landed.verdict == IntakeVerdict::kLanded);
  CHECK(landed.events == 3);
  auto after = with.Counts();
  REQUIRE(after.ok());
  CHECK(after->unknown_dictionary == 0);
  CHECK(after->landed.batches_landed == 1);
}

}  // namespace
}  // namespace tidegate::collector
