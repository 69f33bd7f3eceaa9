// SPDX-License-Identifier: Apache-2.0
#include "uplink/inflight_window.h"

#include <catch2/catch.hpp>

namespace tidegate::uplink {
namespace {

using std::chrono::milliseconds;
using TimePoint = InflightWindow::TimePoint;

PreparedBatch Batch(const std::string& id) {
  PreparedBatch b;
  b.range.batch_id = id;
  b.encoded.batch_id = id;
  return b;
}

TEST_CASE("the window holds at most its capacity and hands out new batches in order",
          "[uplink][inflight]") {
  InflightWindow w(2, milliseconds(1000));
  const TimePoint t0{};
  w.Add(Batch("a"), t0);
  CHECK(w.HasRoom());
  w.Add(Batch("b"), t0);
  CHECK_FALSE(w.HasRoom());
  auto* first = w.NextDue(t0);
  REQUIRE(first != nullptr);
  CHECK(first->batch.range.batch_id == "a");
  w.Published(*first, t0);
  auto* second = w.NextDue(t0);
  REQUIRE(second != nullptr);
  CHECK(second->batch.range.batch_id == "b");
  w.Published(*second, t0);
  CHECK(w.NextDue(t0) == nullptr);
}

TEST_CASE("an unacknowledged batch is due again after the ack timeout, same bytes",
          "[uplink][inflight]") {
  InflightWindow w(4, milliseconds(1000));
  const TimePoint t0{};
  PreparedBatch b = Batch("a");
  b.encoded.body = "bytes";
  w.Add(std::move(b), t0);
  w.Published(*w.NextDue(t0), t0);
  CHECK(w.NextDue(t0 + milliseconds(999)) == nullptr);
  CHECK(*w.NextDeadline() == t0 + milliseconds(1000));
  auto* again = w.NextDue(t0 + milliseconds(1000));
  REQUIRE(again != nullptr);
  CHECK(again->state == InflightWindow::State::kAwaitingAck);
  CHECK(again->batch.encoded.body == "bytes");
  CHECK(again->publishes == 1);
}

TEST_CASE("outcomes arrive in any order, and unknown ids are not found", "[uplink][inflight]") {
  InflightWindow w(3, milliseconds(1000));
  const TimePoint t0{};
  for (const char* id : {"a", "b", "c"}) w.Add(Batch(id), t0);
  REQUIRE(w.Remove("b").has_value());
  CHECK(w.size() == 2);
  CHECK(w.HasRoom());
  CHECK_FALSE(w.Remove("b").has_value());  // a late duplicate
  CHECK(w.Find("zzz") == nullptr);
  REQUIRE(w.Remove("c").has_value());
  REQUIRE(w.Remove("a").has_value());
  CHECK(w.empty());
  CHECK_FALSE(w.NextDeadline().has_value());
}

TEST_CASE("a batch the receiver asked to retry waits for its backoff", "[uplink][inflight]") {
  InflightWindow w(2, milliseconds(1000));
  const TimePoint t0{};
  w.Add(Batch("a"), t0);
  w.Add(Batch("b"), t0);
  w.Published(*w.NextDue(t0), t0);
  w.Published(*w.NextDue(t0), t0);
  w.BackOff(*w.Find("a"), t0 + milliseconds(200));
  CHECK(w.NextDue(t0 + milliseconds(199)) == nullptr);
  auto* due = w.NextDue(t0 + milliseconds(200));
  REQUIRE(due != nullptr);
  CHECK(due->batch.range.batch_id == "a");
  CHECK(due->state == InflightWindow::State::kBackingOff);
}

}  // namespace
}  // namespace tidegate::uplink

namespace tidegate::uplink {
namespace {

Completion Outcome(const std::string& id, SendResult::Kind kind) {
  Completion c;
  c.batch_id = id;
  c.result.kind = kind;
  return c;
}

TEST_CASE("an ack that arrives before its batch is in the window is applied when it comes",
          "[uplink][inflight]") {
  InflightWindow w(2, std::chrono::milliseconds(1000));
  w.RememberEarly(Outcome("a", SendResult::Kind::kAcked));
  w.RememberEarly(Outcome("b", SendResult::Kind::kRetry));  // not kept: it republishes
  CHECK(w.TakeMatchedEarly().empty());
  w.Add(Batch("b"), InflightWindow::TimePoint{});
  CHECK(w.TakeMatchedEarly().empty());
  w.Add(Batch("a"), InflightWindow::TimePoint{});
  auto matched = w.TakeMatchedEarly();
  REQUIRE(matched.size() == 1);
  CHECK(matched[0].batch_id == "a");
  CHECK(w.TakeMatchedEarly().empty());
  for (size_t i = 0; i < InflightWindow::kMaxEarly + 10; ++i) {
    w.RememberEarly(Outcome("x" + std::to_string(i), SendResult::Kind::kAcked));
  }
  CHECK(w.TakeMatchedEarly().empty());  // bounded; nothing matches
}

}  // namespace
}  // namespace tidegate::uplink
