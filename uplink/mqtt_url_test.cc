// SPDX-License-Identifier: Apache-2.0
#include "uplink/mqtt_url.h"

#include <catch2/catch.hpp>

namespace tidegate::uplink {
namespace {

TEST_CASE("mqtts://HOST:PORT is parsed into host and port", "[uplink][mqtt]") {
  auto a = ParseMqttsUrl("mqtts://broker.example.net:8883");
  REQUIRE(a.ok());
  CHECK(a->host == "broker.example.net");
  CHECK(a->port == 8883);
  auto v6 = ParseMqttsUrl("mqtts://[::1]:8883");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 8883);
}

TEST_CASE("anything but mqtts://HOST:PORT is refused", "[uplink][mqtt]") {
  for (const char* bad :
       {"mqtt://broker:1883", "https://broker:8883", "mqtts://broker", "mqtts://:8883",
        "mqtts://broker:0", "mqtts://broker:65536", "mqtts://broker:88x", "mqtts://broker:8883/x",
        "mqtts://user@broker:8883", "mqtts://::1:8883", "mqtts://[::1]8883", "mqtts://broker:"}) {
    INFO(bad);
    CHECK_FALSE(ParseMqttsUrl(bad).ok());
  }
}

}  // namespace
}  // namespace tidegate::uplink
