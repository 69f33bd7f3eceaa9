// SPDX-License-Identifier: Apache-2.0
// End to end with real parts only (mosquitto, the agent, tidegate-collector over TLS,
// tidegate-sim): what is published at QoS 1 lands exactly once, with every field as the
// device sent it.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/time_format.h"
#include "tests/integration/e2e_fixture.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

// Counts, per field, landed events that disagree with what was published, keeping the
// first disagreement of each kind for the failure message.
struct FieldMismatches {
  std::map<std::string, size_t> count;
  std::map<std::string, std::string> first;

  void Add(const std::string& field, const std::string& example) {
    if (count[field]++ == 0) first[field] = example;
  }
  std::string ToString() const {
    std::string text;
    for (const auto& [field, n] : count) {
      text += field + ": " + std::to_string(n) + " (first: " + first.at(field) + ")\n";
    }
    return text.empty() ? "none" : text;
  }
};

PublishedEvent Sent(const std::string& msg_id) {
  PublishedEvent e;
  e.msg_id = msg_id;
  return e;
}

LandedEvent Got(const std::string& msg_id) {
  LandedEvent e;
  e.msg_id = msg_id;
  return e;
}

TEST_CASE("CompareByMsgId counts missing, duplicated and unknown events", "[integration]") {
  DeliveryReport exact = CompareByMsgId({Sent("a"), Sent("b")}, {Got("b"), Got("a")});
  CHECK(exact.ExactlyOnce());
  DeliveryReport bad = CompareByMsgId({Sent("a"), Sent("b"), Sent("c")},
                                      {Got("a"), Got("a"), Got("a"), Got("c"), Got("x"), Got("")});
  CHECK(bad.missing == 1);     // b
  CHECK(bad.duplicated == 2);  // a twice more
  CHECK(bad.unknown == 2);     // x and an event without msg_id
  CHECK(bad.landed == 6);
  CHECK_FALSE(bad.ExactlyOnce());
  CHECK(CanonicalJson(R"({"b": [1, 2.50, {"d": null, "c": true}], "a": "\u00e9"})").value() ==
        CanonicalJson("{\"a\":\"\xc3\xa9\",\"b\":[1,2.5,{\"c\":true,\"d\":null}]}").value());
}

TEST_CASE("10,000 events published at QoS 1 land exactly once with their fields intact",
          "[integration]") {
  E2eStack stack("e2e-delivery");
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  const int64_t run_started_ms = RealClock().NowUnixMs();

  RequireOk(stack.StartSim({"--count", "10000", "--rate", "5000", "--devices", "50", "--seed",
                            std::to_string(seed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == 10000);

  if (!stack.WaitForLanded(10000, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  if (!stack.WaitForDrained(seconds(30))) FAIL("buffer not drained\n" << stack.Diagnostics());
  const int64_t run_finished_ms = RealClock().NowUnixMs();
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());

  DeliveryReport report = CompareByMsgId(*published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK(report.landed == 10000);

  std::unordered_map<std::string, const PublishedEvent*> by_id;
  for (const PublishedEvent& e : *published) by_id.emplace(e.msg_id, &e);
  FieldMismatches bad;
  std::set<uint64_t> seqs;
  for (const LandedEvent& e : *landed) {
    auto it = by_id.find(e.msg_id);
    if (it == by_id.end()) continue;  // counted as unknown above
    const PublishedEvent& p = *it->second;
    const std::string id = e.msg_id;
    if (e.agent_id != stack.options().agent_id) bad.Add("agent_id", id + " " + e.agent_id);
    if (e.topic != p.topic) bad.Add("topic", id + " " + e.topic + " != " + p.topic);
    if (e.device_id != p.device_id) bad.Add("device_id", id + " " + e.device_id);
    if (e.event_time_ms != p.ts_ms || e.event_time != FormatRfc3339Ms(p.ts_ms)) {
      bad.Add("event_time", id + " " + e.event_time + " vs ts " + std::to_string(p.ts_ms));
    }
    if (e.payload != p.payload) bad.Add("payload", id + " " + e.payload + " != " + p.payload);
    if (e.late) bad.Add("late", id);
    // The simulator stamps ts when it publishes and the agent its ingest time on receipt,
    // on the same host clock: ingest follows the event (1 s of slack for clock steps) and
    // both lie within the run.
    if (e.ingest_time_ms < e.event_time_ms - 1000 || e.ingest_time_ms < run_started_ms - 1000 ||
        e.ingest_time_ms > run_finished_ms) {
      bad.Add("ingest_time", id + " ingest " + std::to_string(e.ingest_time_ms) + " event " +
                                 std::to_string(e.event_time_ms));
    }
    if (!seqs.insert(e.seq).second) bad.Add("seq (repeated)", std::to_string(e.seq));
  }
  INFO("field mismatches: " << bad.ToString());
  CHECK(bad.count.empty());
}

}  // namespace
}  // namespace tidegate::testing
