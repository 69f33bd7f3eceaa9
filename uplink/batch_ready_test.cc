// SPDX-License-Identifier: Apache-2.0
#include "uplink/batch_ready.h"

#include <catch2/catch.hpp>
#include <limits>

using tidegate::Millis;
using tidegate::UplinkSection;
using tidegate::uplink::BatchFill;
using tidegate::uplink::ReadyToSend;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kT0 = 1'764'000'000'000;

UplinkSection WithLinger(Millis linger) {
  UplinkSection config;
  config.batch_max_events = 10;
  config.batch_max_bytes = 1000;
  config.batch_linger = linger;
  return config;
}

BatchFill Fill(size_t records, uint64_t bytes_each, int64_t oldest_age_ms) {
  return BatchFill{.records = records,
                   .payload_bytes = records * bytes_each,
                   .largest_record_bytes = bytes_each,
                   .oldest_age_ms = oldest_age_ms};
}

}  // namespace

TEST_CASE("a batch that is not full waits for the linger of its oldest record", "[uplink]") {
  UplinkSection config = WithLinger(Millis(200));
  CHECK_FALSE(ReadyToSend(Fill(3, 10, kT0), config, kT0));
  CHECK_FALSE(ReadyToSend(Fill(3, 10, kT0), config, kT0 + 199));
  CHECK(ReadyToSend(Fill(3, 10, kT0), config, kT0 + 200));
  CHECK(ReadyToSend(Fill(1, 10, kT0), WithLinger(Millis(0)), kT0));
}

TEST_CASE("a full batch goes at once whatever the linger", "[uplink][issue-10]") {
  UplinkSection config = WithLinger(Millis(60'000));  // the largest linger config check allows
  SECTION("full by count") { CHECK(ReadyToSend(Fill(10, 10, kT0), config, kT0)); }
  SECTION("full by bytes: no room for another record as large") {
    CHECK(ReadyToSend(Fill(3, 300, kT0), config, kT0));        // 900 of 1000 bytes
    CHECK(ReadyToSend(Fill(1, 5000, kT0), config, kT0));       // one record over the cap
    CHECK_FALSE(ReadyToSend(Fill(3, 200, kT0), config, kT0));  // room for 400 more
  }
}

TEST_CASE("linger deadlines saturate at the extremes of linger, ingest time and clock",
          "[uplink][issue-10]") {
  SECTION("the largest linger, records ingested at INT64_MAX") {
    UplinkSection config = WithLinger(Millis(60'000));
    CHECK_FALSE(ReadyToSend(Fill(1, 10, kMax), config, kMax - 1));
    CHECK(ReadyToSend(Fill(1, 10, kMax), config, kMax));  // the deadline clamps to kMax
  }
  SECTION("an INT64_MAX linger holds a batch that is not full, never a full one") {
    UplinkSection config = WithLinger(Millis(kMax));
    CHECK_FALSE(ReadyToSend(Fill(1, 10, kT0), config, kT0 + 86'400'000));
    CHECK(ReadyToSend(Fill(10, 10, kT0), config, kT0));
  }
  SECTION("an ingest time at INT64_MIN and clocks at both ends") {
    UplinkSection config = WithLinger(Millis(60'000));
    CHECK(ReadyToSend(Fill(1, 10, kMin), config, kMin + 60'000));
    CHECK_FALSE(ReadyToSend(Fill(1, 10, kMin), config, kMin + 59'999));
    CHECK(ReadyToSend(Fill(1, 10, kMin), config, kMax));
    CHECK_FALSE(ReadyToSend(Fill(1, 10, kMax), config, kMin));
  }
}
