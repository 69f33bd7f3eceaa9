// SPDX-License-Identifier: Apache-2.0
// AggregateStage::Reconfigure against a real buffer: the new aggregations take over at the
// next group, loading the committed checkpoint (an unchanged aggregation keeps its open
// window), but not while the last commit failed (its state changes are not in the store).
#include "agent/aggregate_stage.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/config_loader.h"
#include "tests/support/temp_dir.h"

namespace tidegate::agent {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // ms, on a window boundary of 10 s

std::string Yaml(const std::string& state_dir, bool with_second) {
  std::string y = "agent: {id: gw-1, state_dir: " + state_dir +
                  "}\nsource:\n  mqtt:\n    topics:\n      - filter: devices/+/telemetry\n"
                  "uplink: {url: https://127.0.0.1:8443/v1/batches}\naggregate:\n"
                  "  - name: temp_10s\n    match: devices/+/telemetry\n    group_by: [device_id]\n"
                  "    window: {tumbling: 10s}\n    measures: {/temp: [count]}\n";
  if (with_second) {
    y += "  - name: hum_10s\n    match: devices/+/telemetry\n    group_by: [device_id]\n"
         "    window: {tumbling: 10s}\n    measures: {/humidity: [count]}\n";
  }
  return y;
}

Config Parse(const std::string& yaml) {
  auto config = ParseConfig(yaml, "test.yaml");
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

TimeReading At(int64_t ms) {
  return {.wall_ms = ms, .age_ms = ms, .wall_low_ms = ms, .wall_high_ms = ms};
}

// Runs one group through the stage and commits it (or not) like the writer does.
void Group(AggregateStage& stage, buffer::SqliteStore& store, std::vector<Event> records,
           int64_t now_ms, bool commit_ok) {
  buffer::CommitExtras extras;
  stage.Process(records, At(now_ms), extras);
  if (commit_ok) REQUIRE(store.Append(records, {}, extras.counters, {}, extras.state).ok());
  stage.Committed(commit_ok);
}

Event Reading(int64_t t_ms) {
  Event e;
  e.topic = "devices/d1/telemetry";
  e.device_id = "d1";
  e.event_time_ms = t_ms;
  e.ingest_time_ms = t_ms;
  e.payload = R"({"temp":21.5,"humidity":40})";
  return e;
}

TEST_CASE("reconfigured aggregations wait out a failed commit, unchanged ones keep windows",
          "[aggregate]") {
  testing::TempDir dir;
  const Config config = Parse(Yaml(dir.path(), false));
  auto store = buffer::SqliteStore::Open(buffer::StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  AggregateStage stage(config, **store);
  Group(stage, **store, {Reading(kT0 + 1'000), Reading(kT0 + 2'000)}, kT0 + 2'100, true);
  const auto before = stage.aggregator();
  REQUIRE(before->stats(0).open_windows.load() == 1);

  Group(stage, **store, {Reading(kT0 + 3'000)}, kT0 + 3'100, false);  // a failed commit
  stage.Reconfigure(Parse(Yaml(dir.path(), true)));
  // The next group still runs the old aggregations: the failed commit's output is not in
  // the store yet (the writer retries it with this group).
  Group(stage, **store, {}, kT0 + 3'200, true);
  CHECK(stage.aggregator() == before);
  Group(stage, **store, {Reading(kT0 + 4'000)}, kT0 + 4'100, true);
  const auto after = stage.aggregator();
  REQUIRE(after != before);
  REQUIRE(after->size() == 2);
  CHECK(after->name(0) == "temp_10s");
  CHECK(after->stats(0).open_windows.load() == 1);  // the same window, carried on
  CHECK(after->stats(1).open_windows.load() == 1);  // opened by the reading after the apply
}

}  // namespace
}  // namespace tidegate::agent
