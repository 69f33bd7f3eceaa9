// SPDX-License-Identifier: Apache-2.0
// --topic templates: parsing (weights, placeholders, refusals), expansion, the weighted
// choice, and how the generator uses them (deterministic per seed, nothing else changes).
#include "tools/sim/topic_template.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "tools/sim/event_generator.h"

namespace tidegate::sim {
namespace {

class FixedClock final : public Clock {
 public:
  int64_t NowUnixMs() override { return 1'764'000'000'123; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
};

std::vector<SimEvent> Generate(const GeneratorOptions& options, uint64_t seed, int n) {
  FixedClock clock;
  EventGenerator generator(options, seed, clock);
  std::vector<SimEvent> events;
  events.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) events.push_back(generator.Next());
  return events;
}

TopicTemplate MustParse(std::string_view spec) {
  Result<TopicTemplate> parsed = ParseTopicTemplate(spec);
  INFO(spec << ": " << parsed.status().ToString());
  REQUIRE(parsed.ok());
  return *parsed;
}

std::string ErrorOf(std::string_view spec) {
  Result<TopicTemplate> parsed = ParseTopicTemplate(spec);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST_CASE("a topic template parses with and without a weight", "[sim][topic]") {
  TopicTemplate plain = MustParse("devices/{device}/alarms");
  CHECK(plain.pattern == "devices/{device}/alarms");
  CHECK(plain.weight == 1);
  TopicTemplate weighted = MustParse("devices/{device}/alarms@25");
  CHECK(weighted.pattern == "devices/{device}/alarms");
  CHECK(weighted.weight == 25);
  // Only digits after the last @ are a weight.
  CHECK(MustParse("user@example/{device}").pattern == "user@example/{device}");
  CHECK(MustParse("a/b@").pattern == "a/b@");
  TopicTemplate escaped = MustParse("a/b@5@1");
  CHECK(escaped.pattern == "a/b@5");
  CHECK(escaped.weight == 1);
  CHECK(MustParse("static/topic").pattern == "static/topic");  // no placeholder is fine
}

TEST_CASE("bad topic templates are refused with the reason", "[sim][topic]") {
  CHECK_THAT(ErrorOf(""), Catch::Contains("empty"));
  CHECK_THAT(ErrorOf("@3"), Catch::Contains("empty"));
  CHECK_THAT(ErrorOf("devices/+/alarms"), Catch::Contains("wildcards"));
  CHECK_THAT(ErrorOf("devices/#"), Catch::Contains("wildcards"));
  CHECK_THAT(ErrorOf("devices/{devcie}/alarms"), Catch::Contains("only placeholder is {device}"));
  CHECK_THAT(ErrorOf("devices/{device/alarms"), Catch::Contains("only placeholder"));
  CHECK_THAT(ErrorOf("devices/}"), Catch::Contains("only placeholder"));
  CHECK_THAT(ErrorOf("a@0"), Catch::Contains("weight after @ must be 1 to 1000000"));
  CHECK_THAT(ErrorOf("a@1000001"), Catch::Contains("weight"));
  CHECK_THAT(ErrorOf("a@99999999999999999999999"), Catch::Contains("weight"));
  CHECK_THAT(ErrorOf(std::string(65'536, 'a')), Catch::Contains("65535"));
}

TEST_CASE("ExpandTopic replaces every {device}", "[sim][topic]") {
  CHECK(ExpandTopic("devices/{device}/alarms", "dev-0007") == "devices/dev-0007/alarms");
  CHECK(ExpandTopic("{device}/x/{device}", "d") == "d/x/d");
  CHECK(ExpandTopic("fixed", "dev-0001") == "fixed");
}

TEST_CASE("TopicChooser picks in proportion to the weights", "[sim][topic]") {
  TopicChooser chooser({MustParse("a@3"), MustParse("b"), MustParse("c@6")});
  REQUIRE(chooser.total_weight() == 10);
  std::map<std::string, int> picked;
  for (uint64_t draw = 0; draw < 10; ++draw) picked[chooser.Pick(draw).pattern]++;
  CHECK(picked == std::map<std::string, int>{{"a", 3}, {"b", 1}, {"c", 6}});
}

TEST_CASE("the generator spreads events over weighted templates, the same per seed",
          "[sim][topic]") {
  GeneratorOptions options;
  options.devices = 5;
  options.topics = {MustParse("site/{device}/telemetry@9"), MustParse("site/{device}/alarms@1")};
  std::vector<SimEvent> events = Generate(options, 42, 5000);
  int alarms = 0;
  for (const SimEvent& e : events) {
    const std::string device = DeviceId(e.device);
    const bool alarm = e.topic == "site/" + device + "/alarms";
    CHECK((alarm || e.topic == "site/" + device + "/telemetry"));
    alarms += alarm ? 1 : 0;
  }
  // 10% of 5000 = 500; binomial sd ~21, so 400-600 is far outside chance.
  CHECK(alarms > 400);
  CHECK(alarms < 600);

  std::vector<SimEvent> again = Generate(options, 42, 5000);
  for (size_t i = 0; i < events.size(); ++i) CHECK(again[i].topic == events[i].topic);

  // Templates change only topics: devices, payloads and ids are those of the default run.
  GeneratorOptions plain;
  plain.devices = 5;
  std::vector<SimEvent> base = Generate(plain, 42, 5000);
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK(base[i].payload == events[i].payload);
    CHECK(base[i].topic == "devices/" + DeviceId(base[i].device) + "/telemetry");
  }
}

}  // namespace
}  // namespace tidegate::sim
