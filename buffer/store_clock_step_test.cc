// SPDX-License-Identifier: Apache-2.0
// Wall-clock steps and the buffer (issue 10): max_age and dedup expiry are judged on the
// AgeClock's age line, so a step of a year either way expires nothing by itself, while a
// real week of monotonic time still expires what is older than max_age. The age line is
// persisted: a restart continues it (downtime does not count, so a step during downtime
// expires nothing either).
#include <catch2/catch.hpp>
#include <cstdio>

#include "buffer/sqlite_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace {

using tidegate::Event;
using tidegate::Millis;
using tidegate::buffer::SqliteStore;
using tidegate::buffer::StoreOptions;
using tidegate::testing::FakeClock;
using tidegate::testing::kDayMs;
using tidegate::testing::kYearMs;
using tidegate::testing::TempDir;

constexpr int kEvents = 1'000;
constexpr int64_t kMaxAgeMs = 7 * kDayMs;

std::unique_ptr<SqliteStore> Open(const std::string& dir, FakeClock& clock) {
  auto store = SqliteStore::Open(
      StoreOptions{.state_dir = dir, .max_age = Millis(kMaxAgeMs), .clock = &clock});
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// kEvents raw events ingested now (wall clock as ingest_time, age stamped at commit), each
// with a dedup key valid for an hour of age.
void AppendEvents(SqliteStore& store, FakeClock& clock) {
  std::vector<Event> events;
  const int64_t age = store.age_clock().Now().age_ms;
  for (int i = 0; i < kEvents; ++i) {
    Event e;
    e.topic = "devices/d1/telemetry";
    e.device_id = "d1";
    e.event_time_ms = clock.wall_ms();
    e.ingest_time_ms = clock.wall_ms();
    e.payload = R"({"n":)" + std::to_string(i) + "}";
    e.dedup_key = static_cast<uint64_t>(i) + 1;
    e.dedup_expires_ms = age + 3'600'000;
    events.push_back(std::move(e));
  }
  REQUIRE(store.Append(events, {}, {}).ok());
}

// Runs maintenance as an idle agent does, once a second for `seconds` seconds.
void Idle(SqliteStore& store, FakeClock& clock, int seconds) {
  for (int i = 0; i < seconds; ++i) {
    clock.Advance(1'000);
    REQUIRE(store.Maintain().ok());
  }
}

int64_t DroppedMaxAge(SqliteStore& store) {
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  auto it = stats->counters.find("dropped.max_age");
  return it == stats->counters.end() ? 0 : it->second;
}

uint64_t Events(SqliteStore& store) {
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  return stats->events;
}

}  // namespace

TEST_CASE("a wall-clock step of a year expires no buffered event but a real week does",
          "[buffer][clock][issue-10]") {
  TempDir dir;
  FakeClock clock;
  auto store = Open(dir.path(), clock);
  AppendEvents(*store, clock);
  Idle(*store, clock, 5);
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs);
  std::fprintf(stderr, "step %+lld ms\n", static_cast<long long>(step));
  clock.StepWall(step);
  Idle(*store, clock, 5);
  REQUIRE(store->Append({}, {}, {{"tick", 1}}).ok());
  CHECK(store->age_clock().steps() == 1);
  CHECK(Events(*store) == kEvents);
  CHECK(DroppedMaxAge(*store) == 0);
  // The dedup keys (an hour of age) outlive the step too.
  CHECK(store->LoadDedupKeys(store->age_clock().Now().age_ms)->size() == kEvents);

  // Real time: a week of monotonic time less a minute keeps them, the week expires them.
  clock.Advance(kMaxAgeMs - 5'000 - 60'000);
  Idle(*store, clock, 1);
  CHECK(Events(*store) == kEvents);
  CHECK(store->LoadDedupKeys(store->age_clock().Now().age_ms)->empty());
  Idle(*store, clock, 60);
  CHECK(Events(*store) == 0);
  CHECK(DroppedMaxAge(*store) == kEvents);
  CHECK(store->age_clock().steps() == 1);
}

TEST_CASE("the age line survives a restart so downtime and a step during it expire nothing",
          "[buffer][clock][issue-10]") {
  TempDir dir;
  FakeClock clock;
  int64_t age_at_stop = 0;
  {
    auto store = Open(dir.path(), clock);
    AppendEvents(*store, clock);
    Idle(*store, clock, 3);
    REQUIRE(store->Append({}, {}, {{"tick", 1}}).ok());  // a commit persists the age line
    age_at_stop = store->age_clock().Now().age_ms;
  }
  // Down for 30 days of real time, and the wall clock was set a year forward meanwhile.
  clock.Advance(30 * kDayMs);
  clock.StepWall(kYearMs);
  auto store = Open(dir.path(), clock);
  CHECK(store->age_clock().Now().age_ms == age_at_stop);
  Idle(*store, clock, 5);
  CHECK(Events(*store) == kEvents);
  CHECK(DroppedMaxAge(*store) == 0);
  // A week of the agent running does count.
  clock.Advance(kMaxAgeMs);
  Idle(*store, clock, 1);
  CHECK(Events(*store) == 0);
}

TEST_CASE("an idle agent persists its age line about once a minute", "[buffer][clock]") {
  TempDir dir;
  FakeClock clock;
  int64_t age_at_kill = 0;
  {
    auto store = Open(dir.path(), clock);
    Idle(*store, clock, 125);  // no commit, only maintenance
    age_at_kill = store->age_clock().Now().age_ms;
  }
  auto store = Open(dir.path(), clock);
  const int64_t restored = store->age_clock().Now().age_ms;
  CHECK(restored <= age_at_kill);
  CHECK(restored >= age_at_kill - 60'000);
}
