// SPDX-License-Identifier: Apache-2.0
#include "collector/dump_command.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"
#include "schema/batch_view.h"

namespace tidegate::collector {
namespace {

class FixedClock : public Clock {
 public:
  int64_t NowUnixMs() override { return 0; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
};

// Runs RunDump with stdout and stderr captured in temporary files.
struct Captured {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

Captured Dump(const std::string& data_dir, const std::string& what) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  Captured c;
  c.code = RunDump({.store = data_dir, .what = what}, out, err);
  c.out = ReadAll(out);
  c.err = ReadAll(err);
  return c;
}

TEST_CASE("EventToNdjson writes the landing format on one line", "[collector]") {
  LandedEvent e{.agent_id = "gw-01",
                .seq = 7,
                .topic = "site/a/dev-1/telemetry",
                .device_id = "dev-1",
                .event_time = 1764000000123,
                .ingest_time = 1764000000456,
                .flags = schema::kEventFlagLate,
                .payload = "{\n  \"temp\": 21.5,\n  \"note\": \"a b\"\n}"};
  CHECK(EventToNdjson(e) ==
        R"({"agent_id":"gw-01","seq":7,"topic":"site/a/dev-1/telemetry","device_id":"dev-1",)"
        R"("event_time":"2025-11-24T16:00:00.123Z","ingest_time":"2025-11-24T16:00:00.456Z",)"
        R"("late":true,"payload":{"temp":21.5,"note":"a b"}})"
        "\n");
  e.flags = 0;
  e.payload = "not json";
  std::string line = EventToNdjson(e);
  CHECK(line.find(R"("late":false,"payload":"not json"})") != std::string::npos);
}

TEST_CASE("AggregateToNdjson writes the landing format on one line", "[collector]") {
  LandedAggregate a{.agent_id = "gw-01",
                    .name = "temp_1m",
                    .group_key = "dev-1",
                    .window_start = 1764000000000,
                    .window_end = 1764000060000,
                    .revision = 2,
                    .final = true,
                    .measures_json = R"({"/temp":{"count":3,"avg":20.5}})"};
  CHECK(AggregateToNdjson(a) ==
        R"({"agent_id":"gw-01","name":"temp_1m","key":"dev-1",)"
        R"("window_start":"2025-11-24T16:00:00.000Z","window_end":"2025-11-24T16:01:00.000Z",)"
        R"("revision":2,"final":true,"measures":{"/temp":{"count":3,"avg":20.5}}})"
        "\n");
}

TEST_CASE("dump prints landed events and aggregates as NDJSON", "[collector]") {
  testing::ScratchDir dir;
  {
    FixedClock clock;
    auto store = SqliteLandingStore::Open(dir.path(), clock);
    REQUIRE(store.ok());
    testing::TestBatch spec;
    spec.windows = {testing::TestWindow{}};
    auto batch = schema::DecodeBatch(testing::BuildBatch(spec));
    REQUIRE(batch.ok());
    REQUIRE((*store)->Land(*batch).ok());
  }
  Captured events = Dump(dir.path(), "events");
  CHECK(events.code == 0);
  CHECK(events.err.empty());
  CHECK(std::count(events.out.begin(), events.out.end(), '\n') == 3);
  CHECK(events.out.rfind(R"({"agent_id":"gw-01","seq":1,)", 0) == 0);
  Captured aggregates = Dump(dir.path(), "aggregates");
  CHECK(aggregates.code == 0);
  CHECK(aggregates.out.find(R"("measures":{"/temp":{"count":3,"avg":20.5}}})") !=
        std::string::npos);
}

TEST_CASE("dump fails clearly on a missing data dir or database", "[collector]") {
  testing::ScratchDir dir;
  Captured missing_dir = Dump(dir.File("absent"), "events");
  CHECK(missing_dir.code == 1);
  CHECK(missing_dir.err.find("does not exist") != std::string::npos);
  Captured missing_db = Dump(dir.path(), "aggregates");
  CHECK(missing_db.code == 1);
  CHECK(missing_db.err.find("landing.db") != std::string::npos);
  CHECK(Dump(dir.path(), "everything").code == 2);
}

}  // namespace
}  // namespace tidegate::collector
