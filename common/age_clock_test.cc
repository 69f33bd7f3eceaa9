// SPDX-License-Identifier: Apache-2.0
// AgeClock: the age line follows the monotonic clock only, steps of the wall clock are
// detected and counted once, and event times are judged against both sides of a recent step.
#include "common/age_clock.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_clock.h"

namespace {

using tidegate::AgeClock;
using tidegate::TimeReading;
using tidegate::testing::FakeClock;
using tidegate::testing::kDayMs;
using tidegate::testing::kYearMs;

}  // namespace

TEST_CASE("the age line advances with elapsed time and not with a wall-clock step", "[clock]") {
  FakeClock clock;
  AgeClock ages(clock, /*start_age_ms=*/5'000);
  CHECK(ages.Now().age_ms == 5'000);
  clock.Advance(1'500);
  CHECK(ages.Now().age_ms == 6'500);
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs);
  clock.StepWall(step);
  TimeReading r = ages.Now();
  CHECK(r.age_ms == 6'500);
  CHECK(r.wall_ms == clock.wall_ms());
  clock.Advance(7 * kDayMs);
  CHECK(ages.Now().age_ms == 6'500 + 7 * kDayMs);
}

TEST_CASE("a wall-clock step is detected and counted once", "[clock]") {
  FakeClock clock;
  AgeClock ages(clock, 0);
  for (int i = 0; i < 10; ++i) {
    clock.Advance(1'000);
    (void)ages.Now();
  }
  CHECK(ages.steps() == 0);
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs, 3'000, -3'000);
  clock.StepWall(step);
  (void)ages.Now();
  CHECK(ages.steps() == 1);
  for (int i = 0; i < 10; ++i) {
    clock.Advance(1'000);
    (void)ages.Now();
  }
  CHECK(ages.steps() == 1);
}

TEST_CASE("slow drift below the threshold is not a step", "[clock]") {
  FakeClock clock;
  AgeClock ages(clock, 0);
  // NTP slewing at its maximum, 0.5 ms/s, for a day read every second: 43 s in total.
  for (int i = 0; i < 86'400; ++i) {
    clock.Advance(1'000);
    clock.StepWall(i % 2 == 0 ? 1 : 0);
    (void)ages.Now();
  }
  CHECK(ages.steps() == 0);
}

TEST_CASE("after a step event times are judged against both sides of it for a day", "[clock]") {
  FakeClock clock;
  AgeClock ages(clock, 0);
  const int64_t before = clock.wall_ms();
  const int64_t step = GENERATE(as<int64_t>{}, kYearMs, -kYearMs);
  clock.StepWall(step);
  TimeReading r = ages.Now();
  CHECK(r.wall_low_ms == std::min(before, before + step));
  CHECK(r.wall_high_ms == std::max(before, before + step));
  clock.Advance(AgeClock::kStepGraceMs - 1);
  r = ages.Now();
  CHECK(r.wall_high_ms - r.wall_low_ms == (step > 0 ? step : -step));
  clock.Advance(1);
  r = ages.Now();
  CHECK(r.wall_low_ms == r.wall_ms);
  CHECK(r.wall_high_ms == r.wall_ms);
}
