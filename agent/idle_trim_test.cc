// SPDX-License-Identifier: Apache-2.0
#include "agent/idle_trim.h"

#include <catch2/catch.hpp>

namespace tidegate::agent {
namespace {

TEST_CASE("the heap is trimmed once per quiet spell, never while work goes on", "[agent]") {
  int trims = 0;
  IdleTrim idle([&trims] { ++trims; });
  idle.Turn(0);  // the first turn only notes where activity stands
  CHECK(trims == 0);
  idle.Turn(0);  // quiet since the last turn
  CHECK(trims == 1);
  idle.Turn(0);  // still the same quiet spell
  CHECK(trims == 1);
  for (uint64_t activity = 1; activity <= 5; ++activity) idle.Turn(activity);  // busy
  CHECK(trims == 1);
  idle.Turn(5);  // quiet again
  CHECK(trims == 2);
}

}  // namespace
}  // namespace tidegate::agent
