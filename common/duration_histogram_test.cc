// SPDX-License-Identifier: Apache-2.0
#include "common/duration_histogram.h"

#include <catch2/catch.hpp>

namespace tidegate {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("a duration counts in the first bucket whose bound it does not exceed", "[common]") {
  DurationHistogram h;
  h.Observe(microseconds(300));  // <= 0.0005
  h.Observe(milliseconds(1));    // == 0.001, bounds are inclusive
  h.Observe(milliseconds(40));   // <= 0.05
  h.Observe(seconds(30));        // only +Inf
  DurationHistogram::Snapshot s = h.Read();
  CHECK(s.count == 4);
  CHECK(s.cumulative[0] == 1);
  CHECK(s.cumulative[1] == 2);
  CHECK(s.cumulative[5] == 2);  // 0.025
  CHECK(s.cumulative[6] == 3);  // 0.05
  CHECK(s.cumulative.back() == 3);
  CHECK(s.sum_seconds == Approx(30.0413));
}

TEST_CASE("an empty histogram reads as zeros", "[common]") {
  DurationHistogram::Snapshot s = DurationHistogram().Read();
  CHECK(s.count == 0);
  CHECK(s.cumulative.back() == 0);
  CHECK(s.sum_seconds == 0);
}

}  // namespace
}  // namespace tidegate
