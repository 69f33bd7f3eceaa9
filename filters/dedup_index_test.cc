// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_index.h"

#include <catch2/catch.hpp>
#include <limits>

#include "common/age_clock.h"
#include "tests/support/fake_clock.h"

using tidegate::Millis;
using tidegate::filters::DedupIndex;
using tidegate::filters::DedupKey;

TEST_CASE("dedup keys follow the id when there is one, else the content", "[filters][dedup]") {
  CHECK(DedupKey("d1", "m1", "t", "{\"a\":1}") == DedupKey("d1", "m1", "t2", "{\"a\":2}"));
  CHECK(DedupKey("d1", "m1", "t", "x") != DedupKey("d2", "m1", "t", "x"));
  CHECK(DedupKey("d1", "", "t", "x") == DedupKey("d9", "", "t", "x"));
  CHECK(DedupKey("d1", "", "t", "x") != DedupKey("d1", "", "t", "y"));
  CHECK(DedupKey("d1", "", "t", "x") != 0);
}

TEST_CASE("a key repeats within the window and expires after it", "[filters][dedup]") {
  DedupIndex index(Millis(1000));
  int64_t expires = 0;
  CHECK_FALSE(index.SeenBefore(42, 10'000, &expires));
  CHECK(expires == 11'000);
  CHECK(index.SeenBefore(42, 10'500, &expires));
  CHECK_FALSE(index.SeenBefore(42, 11'000, &expires));  // expired: counted as new again
  CHECK(index.size() == 1);
}

TEST_CASE("the index never holds more than max_keys", "[filters][dedup]") {
  DedupIndex index(Millis(60'000), 100);
  int64_t expires = 0;
  for (uint64_t k = 1; k <= 1000; ++k) CHECK_FALSE(index.SeenBefore(k, 1000, &expires));
  CHECK(index.size() <= 100);
  CHECK(index.evicted() >= 900);
  CHECK(index.SeenBefore(1000, 1001, &expires));  // the newest keys are kept
}

TEST_CASE("keys reloaded after a restart keep deduplicating", "[filters][dedup]") {
  DedupIndex index(Millis(1000));
  index.Load({{7, 5'000}, {8, 6'000}});
  int64_t expires = 0;
  CHECK(index.SeenBefore(7, 4'000, &expires));
  CHECK_FALSE(index.SeenBefore(7, 5'500, &expires));
  CHECK(index.SeenBefore(8, 5'500, &expires));
}

TEST_CASE("extreme windows and clocks saturate the expiry instead of overflowing",
          "[filters][dedup][issue-10]") {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t expires = 0;
  SECTION("the largest window config check allows (7d), at the end of year 9999") {
    DedupIndex index(Millis(7LL * 86'400'000));
    CHECK_FALSE(index.SeenBefore(42, 253'402'300'799'999, &expires));
    CHECK(expires == 253'402'300'799'999 + 7LL * 86'400'000);
    CHECK(index.SeenBefore(42, 253'402'300'799'999 + 1, &expires));
  }
  SECTION("an INT64_MAX window never expires and never wraps into the past") {
    DedupIndex index{Millis(kMax)};
    CHECK_FALSE(index.SeenBefore(42, 1'700'000'000'000, &expires));
    CHECK(expires == kMax);
    CHECK(index.SeenBefore(42, kMax - 1, &expires));
  }
  SECTION("a clock at INT64_MAX") {
    DedupIndex index(Millis(7LL * 86'400'000));
    CHECK_FALSE(index.SeenBefore(42, kMax, &expires));
    CHECK(expires == kMax);
  }
}

TEST_CASE("a wall-clock step neither expires nor keeps dedup keys by itself",
          "[filters][dedup][clock][issue-10]") {
  // The ingest pipeline passes the AgeClock's age line (the buffer's), never the wall clock.
  tidegate::testing::FakeClock clock;
  tidegate::AgeClock ages(clock, clock.wall_ms());
  DedupIndex index(Millis(600'000));
  int64_t expires = 0;
  CHECK_FALSE(index.SeenBefore(42, ages.Now().age_ms, &expires));
  const int64_t step =
      GENERATE(as<int64_t>{}, tidegate::testing::kYearMs, -tidegate::testing::kYearMs);
  clock.StepWall(step);
  clock.Advance(1'000);
  CHECK(index.SeenBefore(42, ages.Now().age_ms, &expires));  // still a repeat
  CHECK(ages.steps() == 1);
  clock.Advance(598'000);
  CHECK(index.SeenBefore(42, ages.Now().age_ms, &expires));
  clock.Advance(1'000);  // the real window is over
  CHECK_FALSE(index.SeenBefore(42, ages.Now().age_ms, &expires));
}
