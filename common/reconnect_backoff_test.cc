// SPDX-License-Identifier: Apache-2.0
#include "common/reconnect_backoff.h"

#include <catch2/catch.hpp>

namespace tidegate {
namespace {

using std::chrono::milliseconds;

TEST_CASE("jittered reconnect delays stay within half and all of the doubling delay", "[common]") {
  ReconnectBackoff backoff(milliseconds(1000), milliseconds(8000));
  Rng rng(42);
  const int64_t expected[] = {1000, 2000, 4000, 8000, 8000};
  bool varied = false;
  for (int64_t full : expected) {
    milliseconds d = backoff.NextJitteredDelay(rng);
    CHECK(d.count() >= full / 2);
    CHECK(d.count() <= full);
    varied = varied || d.count() != full;
  }
  CHECK(varied);
}

}  // namespace
}  // namespace tidegate
