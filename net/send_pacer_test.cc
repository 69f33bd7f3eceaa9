// SPDX-License-Identifier: Apache-2.0
#include "net/send_pacer.h"

#include <catch2/catch.hpp>
#include <thread>

namespace tidegate::net {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

TEST_CASE("pieces are an eighth of a second's worth, within 1 KiB and 16 KiB", "[net]") {
  CHECK(SendPacer(40 * 1024).PieceBytes(1 << 20) == 5 * 1024);
  CHECK(SendPacer(100).PieceBytes(1 << 20) == 1024);
  CHECK(SendPacer(100 << 20).PieceBytes(1 << 20) == 16 * 1024);
  CHECK(SendPacer(40 * 1024).PieceBytes(10) == 10);
}

TEST_CASE("bytes leave no faster than the rate, the first piece at once", "[net]") {
  SendPacer pacer(100 * 1024);
  const auto far = Steady::now() + std::chrono::hours(1);
  pacer.Start();
  const auto start = Steady::now();
  for (int i = 0; i < 11; ++i) REQUIRE(pacer.Take(10 * 1024, far));
  // 11 pieces of 10 KiB at 100 KiB/s: the 11th may leave 1 s after the first.
  CHECK(Steady::now() - start >= milliseconds(1000));
}

TEST_CASE("a wait past the deadline fails at once", "[net]") {
  SendPacer pacer(1024);
  pacer.Start();
  REQUIRE(pacer.Take(1024, Steady::now() + std::chrono::hours(1)));  // the next may go in 1 s
  const auto start = Steady::now();
  CHECK_FALSE(pacer.Take(1024, Steady::now() + milliseconds(100)));
  CHECK(Steady::now() - start < milliseconds(500));
}

TEST_CASE("Interrupt wakes a waiting Take and fails every later one", "[net]") {
  SendPacer pacer(1);  // a byte a second: the second Take waits for an hour
  const auto far = Steady::now() + std::chrono::hours(2);
  pacer.Start();
  REQUIRE(pacer.Take(3600, far));
  std::thread stopper([&] { pacer.Interrupt(); });
  const auto start = Steady::now();
  CHECK_FALSE(pacer.Take(1, far));  // woken, or interrupted before it waited
  CHECK(Steady::now() - start < milliseconds(5000));
  stopper.join();
  CHECK_FALSE(pacer.Take(1, far));
}

}  // namespace
}  // namespace tidegate::net
