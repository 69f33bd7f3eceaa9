// SPDX-License-Identifier: Apache-2.0
// The systemd watchdog's verdict on the threads' heartbeats, with a fake clock. The pings
// themselves are checked end to end by tests/integration/e2e_sd_notify_test.cc.
#include "agent/watchdog_check.h"

#include <catch2/catch.hpp>

#include "common/heartbeat.h"
#include "tests/support/fake_clock.h"

namespace tidegate::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;

// Three heartbeats beaten on a fake clock, as the agent's threads beat theirs.
struct Threads {
  explicit Threads(FakeClock& fake_clock)
      : clock(fake_clock),
        ingest(fake_clock.Monotonic()),
        writer(fake_clock.Monotonic()),
        uplink(fake_clock.Monotonic()) {}
  ThreadProgress Progress(bool held_by_buffer = false) const {
    return {.ingest = ingest.last(),
            .ingest_held_by_buffer = held_by_buffer,
            .writer = writer.last(),
            .uplink = uplink.last()};
  }
  std::optional<std::string> Verdict(Millis threshold, bool held_by_buffer = false) {
    return FindStalledThreads(Progress(held_by_buffer), clock.Monotonic(), threshold);
  }
  FakeClock& clock;
  Heartbeat ingest;
  Heartbeat writer;
  Heartbeat uplink;
};

TEST_CASE("the stall threshold is the watchdog interval, at least 10 s plus commit_interval",
          "[watchdog]") {
  CHECK(StallThreshold(seconds(30), milliseconds(50)) == seconds(30));
  CHECK(StallThreshold(seconds(2), milliseconds(50)) == milliseconds(10'050));
  CHECK(StallThreshold(Millis(0), milliseconds(50)) == milliseconds(10'050));
  // The writer waits commit_interval (at most 10 s) without a beat while a group gathers.
  CHECK(StallThreshold(seconds(12), seconds(10)) == seconds(20));
}

TEST_CASE("threads that keep beating are never stalled, however long the agent runs",
          "[watchdog]") {
  FakeClock clock;
  Threads threads(clock);
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(1'000);
    threads.ingest.Beat(clock.Monotonic());
    threads.writer.Beat(clock.Monotonic());
    threads.uplink.Beat(clock.Monotonic());
    REQUIRE_FALSE(threads.Verdict(seconds(10)).has_value());
  }
}

TEST_CASE("a thread without a beat for longer than the threshold is named with its stall",
          "[watchdog]") {
  FakeClock clock;
  Threads threads(clock);
  clock.Advance(10'000);
  CHECK_FALSE(threads.Verdict(seconds(10)).has_value());  // at the threshold: not yet
  clock.Advance(2'500);
  threads.ingest.Beat(clock.Monotonic());
  threads.uplink.Beat(clock.Monotonic());
  auto verdict = threads.Verdict(seconds(10));
  REQUIRE(verdict.has_value());
  CHECK(*verdict == "buffer writer stalled for 12 s");

  SECTION("each stalled thread is listed") {
    clock.Advance(11'000);
    verdict = threads.Verdict(seconds(10));
    REQUIRE(verdict.has_value());
    CHECK(*verdict ==
          "ingest stalled for 11 s; buffer writer stalled for 23 s; uplink stalled "
          "for 11 s");
  }
  SECTION("a beat ends the stall") {
    threads.writer.Beat(clock.Monotonic());
    CHECK_FALSE(threads.Verdict(seconds(10)).has_value());
  }
}

TEST_CASE("ingest held by buffer backpressure is not stalled while the writer is alive",
          "[watchdog]") {
  FakeClock clock;
  Threads threads(clock);
  clock.Advance(60'000);
  threads.writer.Beat(clock.Monotonic());
  threads.uplink.Beat(clock.Monotonic());
  CHECK_FALSE(threads.Verdict(seconds(10), /*held_by_buffer=*/true).has_value());
  auto verdict = threads.Verdict(seconds(10), /*held_by_buffer=*/false);
  REQUIRE(verdict.has_value());
  CHECK(*verdict == "ingest stalled for 60 s");
}

TEST_CASE("an upload beats ahead for its timeout and counts as alive until then", "[watchdog]") {
  FakeClock clock;
  Threads threads(clock);
  const auto send_started = clock.Monotonic();
  threads.uplink.Beat(send_started + seconds(30));  // uplink.request_timeout
  for (int i = 0; i < 40; ++i) {
    clock.Advance(1'000);
    threads.ingest.Beat(clock.Monotonic());
    threads.writer.Beat(clock.Monotonic());
    REQUIRE_FALSE(threads.Verdict(seconds(10)).has_value());
  }
  clock.Advance(1'000);  // 41 s: the send outlived its own timeout by more than the threshold
  auto verdict = threads.Verdict(seconds(10));
  REQUIRE(verdict.has_value());
  CHECK(*verdict == "uplink stalled for 11 s");
}

}  // namespace
}  // namespace tidegate::agent
