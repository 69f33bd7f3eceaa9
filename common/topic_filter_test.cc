// SPDX-License-Identifier: Apache-2.0
#include "common/topic_filter.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using tidegate::IsValidTopicFilter;
using tidegate::SubscribedTopicFilter;
using tidegate::TopicFilterCanHaveLevel;
using tidegate::TopicFilterMistakes;
using tidegate::TopicFiltersOverlap;
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

namespace {

struct OverlapCase {
  const char* a;
  const char* b;
  bool overlap;
};

// Each case holds in both orders (TopicFiltersOverlap is symmetric).
constexpr OverlapCase kOverlapCases[] = {
    // Literals: equal or not.
    {"a/b", "a/b", true},
    {"a/b", "a/c", false},
    {"a", "a/b", false},
    {"a/b/c", "a/b", false},
    // '+' takes exactly one level, an empty one too.
    {"+", "a", true},
    {"+/+", "a", false},
    {"+/+", "a/b", true},
    {"+/+", "a/b/c", false},
    {"+/+", "a/", true},
    {"a/+/c", "a/b/+", true},
    {"devices/+/telemetry", "devices/+/telemtry", false},
    {"devices/+/telemetry", "devices/d1/+", true},
    {"devices/+/telemetry", "devices/#", true},
    {"+/b", "a/+", true},
    {"+/b", "a/c", false},
    // '#' takes the rest, including no level at all ("a/#" matches "a").
    {"#", "a", true},
    {"#", "a/b/c", true},
    {"#", "+", true},
    {"#", "#", true},
    {"a/#", "a", true},
    {"a/#", "a/b/c", true},
    {"a/#", "b", false},
    {"a/#", "b/#", false},
    {"a/#", "+", true},
    {"a/#", "+/+/+", true},
    {"a/b/#", "a", false},
    {"a/b/#", "a/+", true},
    {"a/+", "a", false},
    {"+/#", "a", true},
    // Empty levels are levels.
    {"a//b", "a/+/b", true},
    {"a//b", "a/b", false},
    {"a//b", "a/#", true},
    {"/a", "+/a", true},
    {"/a", "a", false},
    {"/a", "#", true},
    {"a/", "a/+", true},
    {"a/", "a", false},
    // Topics starting with '$' match no filter whose first level is a wildcard.
    {"#", "$SYS/#", false},
    {"#", "$SYS/broker/load", false},
    {"+/broker", "$SYS/broker", false},
    {"+/#", "$SYS/#", false},
    {"+", "$SYS", false},
    {"$SYS/#", "$SYS/broker", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/+", "$SYS/#", true},
    {"a/$x", "a/+", true},  // only the first level counts
    {"#", "a/$x", true},
};

}  // namespace

TEST_CASE("two topic filters overlap when one topic can match both", "[common]") {
  for (const OverlapCase& c : kOverlapCases) {
    INFO(c.a << " vs " << c.b);
    CHECK(TopicFiltersOverlap(c.a, c.b) == c.overlap);
    CHECK(TopicFiltersOverlap(c.b, c.a) == c.overlap);
  }
}

TEST_CASE("overlap agrees with matching on sample topics", "[common]") {
  // A cross-check of TopicFiltersOverlap against TopicMatches: on every pair of filters, a
  // sample topic matched by both proves an overlap.
  const char* filters[] = {"#",    "+",  "a",  "a/#", "a/+",    "+/+", "a/b",
                           "a//b", "/a", "a/", "+/b", "$SYS/#", "+/#", "a/+/b"};
  const char* topics[] = {"a",   "b",    "a/b",    "a/c",   "a//b", "/a",    "a/",
                          "x/b", "$SYS", "$SYS/x", "a/x/b", "/",    "a/b/c", "$SYS/b"};
  for (const char* f : filters) {
    for (const char* g : filters) {
      bool shared = false;
      for (const char* t : topics) shared = shared || (TopicMatches(f, t) && TopicMatches(g, t));
      INFO(f << " vs " << g);
      if (shared) CHECK(TopicFiltersOverlap(f, g));
    }
  }
}

TEST_CASE("a filter can have a level where one of its topics has it, non-empty", "[common]") {
  CHECK(TopicFilterCanHaveLevel("devices/+/telemetry", 0));
  CHECK(TopicFilterCanHaveLevel("devices/+/telemetry", 1));
  CHECK(TopicFilterCanHaveLevel("devices/+/telemetry", 2));
  CHECK_FALSE(TopicFilterCanHaveLevel("devices/+/telemetry", 3));
  CHECK(TopicFilterCanHaveLevel("devices/#", 1));
  CHECK(TopicFilterCanHaveLevel("devices/#", 9));
  CHECK(TopicFilterCanHaveLevel("#", 0));
  CHECK_FALSE(TopicFilterCanHaveLevel("/a", 0));  // the first level is empty
  CHECK_FALSE(TopicFilterCanHaveLevel("a//b", 1));
  CHECK(TopicFilterCanHaveLevel("a/+/b", 1));
  CHECK_FALSE(TopicFilterCanHaveLevel("a", 1));
}

TEST_CASE("a shared subscription applies its filter after the group", "[common]") {
  CHECK(SubscribedTopicFilter("$share/g1/devices/+/telemetry") == "devices/+/telemetry");
  CHECK(SubscribedTopicFilter("$share/g1/#") == "#");
  CHECK(SubscribedTopicFilter("$share/g1") == "$share/g1");
  CHECK(SubscribedTopicFilter("devices/#") == "devices/#");
  CHECK(SubscribedTopicFilter("$SYS/#") == "$SYS/#");
}

TEST_CASE("likely mistakes in topic filters are named", "[common]") {
  for (const char* fine : {"#", "+", "a/b", "devices/+/telemetry", "devices/#", "$SYS/#"}) {
    INFO(fine);
    CHECK(TopicFilterMistakes(fine).empty());
  }
  using V = std::vector<std::string>;
  CHECK(TopicFilterMistakes("devices/*/telemetry") ==
        V{"'devices/*/telemetry' has a literal '*': MQTT's wildcards are + (one level) and # "
          "(all levels below)"});
  CHECK(TopicFilterMistakes("devices/") ==
        V{"'devices/' ends with '/', so it matches only topics whose last level is empty (did "
          "you mean 'devices' or 'devices/#'?)"});
  CHECK(TopicFilterMistakes("/devices/+") ==
        V{"'/devices/+' starts with '/', so it matches only topics whose first level is empty "
          "(did you mean 'devices/+'?)"});
  CHECK(TopicFilterMistakes("a//b") ==
        V{"'a//b' has an empty level ('//'), so it matches only topics with an empty level "
          "there"});
  CHECK(TopicFilterMistakes("/").size() == 1);
  CHECK(TopicFilterMistakes("/a/*/").size() == 3);
}
