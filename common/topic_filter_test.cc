// SPDX-License-Identifier: Apache-2.0
#include "common/topic_filter.h"

#include <catch2/catch.hpp>

using tidegate::IsValidTopicFilter;
using tidegate::TopicMatches;

TEST_CASE("topic filters follow the MQTT wildcard rules", "[common]") {
  for (const char* ok : {"#", "+", "a/b", "devices/+/telemetry", "devices/#", "+/+/#", "/a"}) {
    INFO(ok);
    CHECK(IsValidTopicFilter(ok));
  }
  for (const char* bad : {"", "a/#/b", "a#", "a/b+", "#/a", "dev+/x"}) {
    INFO(bad);
    CHECK_FALSE(IsValidTopicFilter(bad));
  }
}

TEST_CASE("topics match filters level by level", "[common]") {
  CHECK(TopicMatches("devices/+/telemetry", "devices/d1/telemetry"));
  CHECK_FALSE(TopicMatches("devices/+/telemetry", "devices/d1/status"));
  CHECK_FALSE(TopicMatches("devices/+/telemetry", "devices/d1/telemetry/x"));
  CHECK(TopicMatches("devices/#", "devices/d1/telemetry"));
  CHECK(TopicMatches("devices/#", "devices"));
  CHECK(TopicMatches("#", "anything/at/all"));
  CHECK_FALSE(TopicMatches("#", "$SYS/broker"));
  CHECK(TopicMatches("a/b", "a/b"));
  CHECK_FALSE(TopicMatches("a/b", "a"));
  CHECK(TopicMatches("+/+", "a/"));
}
