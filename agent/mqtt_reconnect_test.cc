// SPDX-License-Identifier: Apache-2.0
#include "agent/mqtt_reconnect.h"

#include <catch2/catch.hpp>

namespace tidegate::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("reconnect backoff doubles from 1 s to a 30 s cap and resets on success",
          "[agent][mqtt]") {
  ReconnectBackoff backoff(seconds(1), seconds(30));
  std::vector<milliseconds> delays;
  delays.reserve(8);
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.NextDelay());
  CHECK(delays == std::vector<milliseconds>{seconds(1), seconds(2), seconds(4), seconds(8),
                                            seconds(16), seconds(30), seconds(30), seconds(30)});
  backoff.Reset();
  CHECK(backoff.NextDelay() == seconds(1));
  CHECK(backoff.NextDelay() == seconds(2));
}

TEST_CASE("a long outage logs its first failure, each new reason and every Nth attempt",
          "[agent][mqtt]") {
  FailureLogLimiter limiter(10);
  std::vector<uint64_t> logged;
  for (uint64_t attempt = 1; attempt <= 25; ++attempt) {
    std::string reason =
        attempt == 5 || attempt == 6 ? "TLS: certificate verify failed" : "Connection refused";
    if (limiter.ShouldLog(reason, attempt)) logged.push_back(attempt);
  }
  // 5: the reason changed; 7: it changed back; 10 and 20: every 10th.
  CHECK(logged == std::vector<uint64_t>{1, 5, 7, 10, 20});
}

TEST_CASE("a new outage logs its first failure even with the same reason", "[agent][mqtt]") {
  FailureLogLimiter limiter(10);
  CHECK(limiter.ShouldLog("Connection refused", 1));
  CHECK_FALSE(limiter.ShouldLog("Connection refused", 2));
  limiter.Reset();
  CHECK(limiter.ShouldLog("Connection refused", 1));
}

TEST_CASE("TLS failures and connections closed before CONNACK get a hint", "[agent][mqtt]") {
  CHECK(ConnectHint(ConnectFailureKind::kTls, true).find("ca_file") != std::string_view::npos);
  CHECK(ConnectHint(ConnectFailureKind::kClosedBeforeConnack, false).find("source.mqtt.tls") !=
        std::string_view::npos);
  CHECK(ConnectHint(ConnectFailureKind::kClosedBeforeConnack, true).find("CA") !=
        std::string_view::npos);
  CHECK(ConnectHint(ConnectFailureKind::kNetwork, false).empty());
  CHECK(ConnectHint(ConnectFailureKind::kRefusedByBroker, true).empty());
}

}  // namespace
}  // namespace tidegate::agent
