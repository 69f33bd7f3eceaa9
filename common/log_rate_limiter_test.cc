// SPDX-License-Identifier: Apache-2.0
// LogRateLimiter with a fake clock: the first repeats pass, the rest are counted into one
// summary per template and period, numbers do not make a message new, and memory is bounded.
#include "common/log_rate_limiter.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/support/fake_clock.h"

namespace {

using tidegate::LogRateLimiter;
using tidegate::LogRateLimitOptions;
using tidegate::SuppressedRepeats;
using tidegate::testing::FakeClock;

constexpr int kWarn = 3;

LogRateLimitOptions Options(int64_t burst, size_t max_tracked = 256) {
  return LogRateLimitOptions{
      .burst = burst, .period = std::chrono::milliseconds(60'000), .max_tracked = max_tracked};
}

}  // namespace

TEST_CASE("the first repeats of a message pass and the rest are counted", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(5));
  std::vector<SuppressedRepeats> due;
  int passed = 0;
  for (int i = 0; i < 12; ++i) {
    passed += limiter.Admit(kWarn, "uplink: retry " + std::to_string(i) + " in 3 s", &due) ? 1 : 0;
    clock.Advance(1'000);
  }
  CHECK(passed == 5);
  CHECK(due.empty());
  clock.Advance(60'000);
  limiter.TakeDue(&due);
  REQUIRE(due.size() == 1);
  CHECK(due[0].count == 7);
  CHECK(due[0].level == kWarn);
  CHECK(due[0].last == "uplink: retry 11 in 3 s");
  due.clear();
  limiter.TakeDue(&due);  // reported once
  CHECK(due.empty());
}

TEST_CASE("a new period lets a burst through again and reports the last one", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(2));
  std::vector<SuppressedRepeats> due;
  for (int i = 0; i < 4; ++i) (void)limiter.Admit(kWarn, "disk full", &due);
  clock.Advance(60'000);
  CHECK(limiter.Admit(kWarn, "disk full", &due));  // the summary comes with it
  REQUIRE(due.size() == 1);
  CHECK(due[0].count == 2);
  CHECK(limiter.Admit(kWarn, "disk full", &due));
  CHECK_FALSE(limiter.Admit(kWarn, "disk full", &due));
}

TEST_CASE("distinct messages are limited separately", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(1));
  std::vector<SuppressedRepeats> due;
  CHECK(limiter.Admit(kWarn, "mqtt: lost", &due));
  CHECK(limiter.Admit(kWarn, "uplink: lost", &due));
  CHECK_FALSE(limiter.Admit(kWarn, "mqtt: lost", &due));
  CHECK(limiter.tracked() == 2);
}

TEST_CASE("a template hides the words that hold digits", "[log]") {
  CHECK(LogRateLimiter::Template("retry 3 in 400 ms") == "retry # in # ms");
  CHECK(LogRateLimiter::Template("batch 01JD8Z3K not delivered (HTTP 503)") ==
        "batch # not delivered (HTTP #)");
  CHECK(LogRateLimiter::Template("cannot connect to 127.0.0.1:1883: refused") ==
        "cannot connect to # refused");  // the word ends at a space
  CHECK(LogRateLimiter::Template("topic devices/dev-7/telemetry") == "topic #");
  CHECK(LogRateLimiter::Template("no digits here") == "no digits here");
}

TEST_CASE("the number of tracked messages is bounded and an evicted count is reported", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(1, 3));
  std::vector<SuppressedRepeats> due;
  (void)limiter.Admit(kWarn, "alpha", &due);
  CHECK_FALSE(limiter.Admit(kWarn, "alpha", &due));
  for (const char* text : {"beta", "gamma", "delta", "epsilon"}) {
    (void)limiter.Admit(kWarn, text, &due);
  }
  CHECK(limiter.tracked() == 3);
  REQUIRE(due.size() == 1);  // alpha, least recently seen, left with its count
  CHECK(due[0].last == "alpha");
  CHECK(due[0].count == 1);
}

TEST_CASE("a message seen again is not the one evicted", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(1, 2));
  std::vector<SuppressedRepeats> due;
  (void)limiter.Admit(kWarn, "alpha", &due);
  (void)limiter.Admit(kWarn, "beta", &due);
  CHECK_FALSE(limiter.Admit(kWarn, "alpha", &due));  // alpha is now the most recent
  (void)limiter.Admit(kWarn, "gamma", &due);         // evicts beta
  CHECK(due.empty());
  CHECK_FALSE(limiter.Admit(kWarn, "alpha", &due));
}

TEST_CASE("TakeAll reports pending counts before their period ends", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(1));
  std::vector<SuppressedRepeats> due;
  for (int i = 0; i < 3; ++i) (void)limiter.Admit(kWarn, "x", &due);
  limiter.TakeAll(&due);
  REQUIRE(due.size() == 1);
  CHECK(due[0].count == 2);
}

TEST_CASE("a burst of 0 turns the limiter off", "[log]") {
  FakeClock clock;
  LogRateLimiter limiter(clock, Options(0));
  std::vector<SuppressedRepeats> due;
  for (int i = 0; i < 100; ++i) CHECK(limiter.Admit(kWarn, "x", &due));
  CHECK(limiter.tracked() == 0);
}
