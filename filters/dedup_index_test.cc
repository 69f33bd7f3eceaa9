// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_index.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <deque>
#include <limits>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/age_clock.h"
#include "tests/support/fake_clock.h"

using tidegate::Millis;
using tidegate::filters::DedupIndex;

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

// Entries are popped oldest first. A key restored with a far expiry (dedup.window was longer
// before the restart) holds the head while another key is recorded again and again: its
// expired entries pile up behind it, and the ring's positions must still name one entry each.
// Past kMaxSpan (2^23) entries the oldest is forgotten early, counted as evicted.
TEST_CASE("a head held by a long expiry cannot grow the ring without bound", "[filters][dedup]") {
  DedupIndex index(Millis(1'000));
  index.Restore(7, std::numeric_limits<int64_t>::max());  // expires never
  int64_t expires = 0;
  int64_t now = 0;
  uint64_t recorded = 0;
  while (index.evicted() == 0 && recorded < (uint64_t{1} << 24)) {
    REQUIRE_FALSE(index.SeenBefore(9, now += 1'000, &expires));  // expired each time: again
    ++recorded;
  }
  CHECK(index.evicted() == 1);
  // kMaxSpan, less the fillers that end the far expiry's block (its other entries' expiries
  // are too far from it to keep relative to it), more a block of fillers at most.
  CHECK(recorded >= (uint64_t{1} << 23) - 8'192);
  CHECK(recorded <= (uint64_t{1} << 23) + 8'192);
  CHECK_FALSE(index.Contains(7, now));  // forgotten early
  CHECK(index.Contains(9, now + 999));  // the newest key answers as before
  CHECK(index.size() == 1);
  CHECK(index.memory_bytes() <= size_t{512} * 1024);  // the stale entries went with it
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

TEST_CASE("a million keys take at most 21 bytes each, and give them back when they expire",
          "[filters][dedup]") {
  DedupIndex index(Millis(600'000));
  int64_t expires = 0;
  for (uint64_t k = 1; k <= DedupIndex::kDefaultMaxKeys; ++k) {
    REQUIRE_FALSE(index.SeenBefore(k * 0x2545f4914f6cdd1dull | 1, 1'000, &expires));
  }
  CHECK(index.size() == DedupIndex::kDefaultMaxKeys);
  // 12 bytes of ring entry and a 4-byte slot at most half full: 20.5 at 1,000,000 keys.
  CHECK(index.memory_bytes() <= 21 * DedupIndex::kDefaultMaxKeys);
  std::printf("dedup index: %zu keys in %zu bytes\n", index.size(), index.memory_bytes());
  CHECK_FALSE(index.SeenBefore(1, 601'000, &expires));  // every other key has expired
  CHECK(index.size() == 1);
  CHECK(index.memory_bytes() <= size_t{512} * 1024);  // two ring blocks and a small table
}

TEST_CASE("expiries further apart than a ring block's 32-bit span are kept exactly",
          "[filters][dedup]") {
  // A block keeps expiries relative to its first one, within 2^31 ms (24.8 days); a key
  // recorded further from it starts the next block. Keys here alternate around such gaps.
  const int64_t gap = int64_t{3'000'000'000};
  // Also from just below the 32-bit wrap of ring positions, so the fillers that end a block
  // early cross it.
  const uint64_t first_seq = GENERATE(as<uint64_t>{}, 0, (uint64_t{1} << 32) - 3);
  DedupIndex index(Millis(1'000), DedupIndex::kDefaultMaxKeys, first_seq);
  int64_t expires = 0;
  int64_t now = 0;
  for (uint64_t k = 1; k <= 5; ++k, now += gap) {
    REQUIRE_FALSE(index.SeenBefore(k, now, &expires));
    CHECK(expires == now + 1'000);
    CHECK(index.SeenBefore(k, now + 999, &expires));  // in its window
    CHECK(index.Contains(k, now + 999));
    CHECK_FALSE(index.Contains(k, now + 1'000));                    // and not past it
    REQUIRE_FALSE(index.SeenBefore(100 + k, now + 999, &expires));  // same block, +999 ms
  }
  // Only the last two keys are left; every earlier block was filled up and given back.
  CHECK(index.size() == 2);
  CHECK(index.memory_bytes() <= size_t{512} * 1024);
  // A clock that steps back (the index does not assume it cannot) past a block's span.
  DedupIndex back(Millis(1'000));
  REQUIRE_FALSE(back.SeenBefore(7, 2 * gap, &expires));
  REQUIRE_FALSE(back.SeenBefore(8, 0, &expires));
  CHECK(back.Contains(7, 2 * gap + 999));
  CHECK(back.Contains(8, 999));
  CHECK_FALSE(back.Contains(8, 1'000));
}

TEST_CASE("keys restored in runs answer as keys restored one at a time", "[filters][dedup]") {
  const uint32_t seed = 20261206;
  std::printf("dedup restore seed %u\n", seed);
  std::mt19937_64 rng(seed);
  std::vector<std::pair<uint64_t, int64_t>> keys;
  int64_t expires = 5'000;
  for (int i = 0; i < 50'000; ++i) {
    expires += static_cast<int64_t>(rng() % 3);
    keys.emplace_back(1 + rng() % 40'000, expires);  // repeats: the later expiry wins
  }
  DedupIndex one(Millis(1'000));
  DedupIndex runs(Millis(1'000));
  runs.Reserve(keys.size());
  for (const auto& [key, at] : keys) one.Restore(key, at);
  for (size_t i = 0; i < keys.size(); i += 777) {
    runs.Restore(std::span(keys).subspan(i, std::min<size_t>(777, keys.size() - i)));
  }
  REQUIRE(runs.size() == one.size());
  for (uint64_t key = 1; key <= 40'001; ++key) {
    for (const int64_t now : {int64_t{5'000}, expires / 2, expires - 1}) {
      REQUIRE(runs.Contains(key, now) == one.Contains(key, now));
    }
  }
  CHECK(runs.Contains(keys.back().first, expires - 1));
  CHECK_FALSE(runs.Contains(40'001, 5'000));
}

// The index against a model of its contract (a map of each key's newest expiry, and a FIFO of
// every recording), over random keys from a small pool, clocks that go back and forth, reloads
// and a small max_keys: every answer, size and eviction count must agree.
TEST_CASE("the compact index answers as a map of expiries would", "[filters][dedup]") {
  const uint32_t seed = GENERATE(1u, 2u, 3u, 20261206u);
  std::printf("dedup model seed %u\n", seed);
  std::mt19937_64 rng(seed);
  const size_t max_keys = GENERATE(as<size_t>{}, 50, 100'000);
  const uint64_t first_seq = GENERATE(as<uint64_t>{}, 0, (uint64_t{1} << 32) - 100'000);
  DedupIndex index(Millis(1'000), max_keys, first_seq);
  std::unordered_map<uint64_t, int64_t> newest;
  std::deque<std::pair<int64_t, uint64_t>> fifo;
  uint64_t model_evicted = 0;
  auto model_expire = [&](int64_t now) {
    while (!fifo.empty() && (fifo.front().first <= now || newest.size() >= max_keys)) {
      if (fifo.front().first > now) ++model_evicted;
      auto it = newest.find(fifo.front().second);
      if (it != newest.end() && it->second == fifo.front().first) newest.erase(it);
      fifo.pop_front();
    }
  };
  int64_t now = 10'000;
  for (int step = 0; step < 200'000; ++step) {
    now += static_cast<int64_t>(rng() % 7) - 2;  // mostly forward, sometimes back
    const uint64_t key = 1 + rng() % 300;
    int64_t expires = 0;
    const bool seen = index.SeenBefore(key, now, &expires);
    model_expire(now);
    auto it = newest.find(key);
    const bool model_seen = it != newest.end() && it->second > now;
    if (!model_seen) {
      newest[key] = now + 1'000;
      fifo.emplace_back(now + 1'000, key);
    }
    REQUIRE(seen == model_seen);
    REQUIRE(index.size() == newest.size());
    REQUIRE(index.evicted() == model_evicted);
  }
}
