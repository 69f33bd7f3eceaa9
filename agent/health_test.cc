// SPDX-License-Identifier: Apache-2.0
// The uplink part of readiness: the threshold derived from uplink.retry.max and the
// verdict for each kind of failure. The probes themselves are exercised end to end by
// tests/integration/e2e_readiness_test.cc.
#include "agent/health.h"

#include <catch2/catch.hpp>

namespace tidegate::agent {
namespace {

using std::chrono::seconds;

TEST_CASE("the uplink threshold is twice retry.max, at least 10 s", "[health]") {
  UplinkSection uplink;
  uplink.retry_max = seconds(30);
  CHECK(UplinkFailingThreshold(uplink) == seconds(60));
  uplink.retry_max = seconds(1);
  CHECK(UplinkFailingThreshold(uplink) == kMinUplinkFailing);
  uplink.retry_max = std::chrono::hours(1);
  CHECK(UplinkFailingThreshold(uplink) == std::chrono::hours(2));
}

TEST_CASE("an uplink is ready until it has failed for longer than the threshold", "[health]") {
  const Millis threshold = seconds(10);
  UplinkHealth health;
  CHECK_FALSE(UplinkNotReady(health, threshold).has_value());  // never failed
  health.failures = 3;
  health.failing_for_ms = 10'000;
  CHECK_FALSE(UplinkNotReady(health, threshold).has_value());  // at the threshold
  health.failing_for_ms = 12'345;
  auto why = UplinkNotReady(health, threshold);
  REQUIRE(why.has_value());
  CHECK(*why ==
        "uplink not delivering for 12 s (threshold 10 s, 3 failed sends): no answer from the "
        "receiver (down, unreachable or TLS failure)");
}

TEST_CASE("the uplink verdict names the likeliest cause", "[health]") {
  const Millis threshold = seconds(10);
  UplinkHealth health{.failing_for_ms = 60'000, .failures = 9};
  health.peer_untrusted = true;
  CHECK_THAT(*UplinkNotReady(health, threshold),
             Catch::Contains("certificate does not verify against uplink.tls"));
  health.peer_untrusted = false;
  health.client_cert_refused = true;
  CHECK_THAT(*UplinkNotReady(health, threshold), Catch::Contains("refused our client certificate"));
  health.client_cert_refused = false;
  health.last_http_status = 401;
  CHECK_THAT(*UplinkNotReady(health, threshold),
             Catch::Contains("rejected our credentials (HTTP 401)"));
  health.last_http_status = 503;
  CHECK_THAT(*UplinkNotReady(health, threshold), Catch::Contains("answers HTTP 503"));
}

TEST_CASE("liveness fails only once the buffer writer has stalled past five minutes", "[health]") {
  const auto now = std::chrono::steady_clock::now();
  CHECK_FALSE(WriterStalled(now, now).has_value());
  CHECK_FALSE(WriterStalled(now - seconds(30), now).has_value());  // a slow commit
  CHECK_FALSE(WriterStalled(now - kWriterStalled, now).has_value());
  auto why = WriterStalled(now - seconds(312), now);
  REQUIRE(why.has_value());
  CHECK_THAT(*why, Catch::StartsWith("buffer writer stalled for 312 s (limit 300 s)"));
}

}  // namespace
}  // namespace tidegate::agent
