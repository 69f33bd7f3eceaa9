// SPDX-License-Identifier: Apache-2.0
#include "tests/support/config_yaml.h"

#include <catch2/catch.hpp>

using tidegate::testing::IndexedKeyPath;
using tidegate::testing::MinimalConfigWith;

TEST_CASE("MinimalConfigWith sets one key and keeps its checked partners equal", "[support]") {
  int line = 0;
  std::string yaml =
      MinimalConfigWith("uplink.batch.linger", "1m").Render("uplink.batch.linger", &line);
  CHECK(line > 0);
  CHECK(yaml.find("    linger: 1m\n") != std::string::npos);
  yaml = MinimalConfigWith("aggregate[].window.hopping.slide", "5m").Render();
  CHECK(yaml.find("tumbling") == std::string::npos);
  CHECK(yaml.find("size: 5m\n") != std::string::npos);
  CHECK(yaml.find("slide: 5m\n") != std::string::npos);
  yaml = MinimalConfigWith("uplink.retry.max", "2h").Render();
  CHECK(yaml.find("initial: 2h\n") != std::string::npos);
  CHECK(IndexedKeyPath("aggregate[].window.tumbling") == "aggregate[0].window.tumbling");
  CHECK(IndexedKeyPath("buffer.max_age") == "buffer.max_age");
}
