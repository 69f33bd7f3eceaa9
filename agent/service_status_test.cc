// SPDX-License-Identifier: Apache-2.0
// The STATUS= line systemd shows for the agent: what it waits for, backlog and uplink state,
// and when a change is sent at once.
#include "agent/service_status.h"

#include <catch2/catch.hpp>

namespace tidegate::agent {
namespace {

ServiceSnapshot Running() {
  ServiceSnapshot s;
  s.ready = true;
  s.subscribed = true;
  s.broker = "127.0.0.1:1883";
  s.backlog_records = 12;
  s.backlog_bytes = 48 * 1024;
  return s;
}

TEST_CASE("before READY the status names the broker it waits for and why", "[service]") {
  ServiceSnapshot s = Running();
  s.ready = false;
  s.subscribed = false;
  s.mqtt_reason = "Connection refused";
  s.backlog_records = 0;
  s.backlog_bytes = 4096;
  CHECK(FormatStatus(s) ==
        "starting; waiting for the MQTT broker at 127.0.0.1:1883 to acknowledge our "
        "subscription (Connection refused); backlog 0 records, 4.0 KiB; uplink idle");
}

TEST_CASE("a running agent reports backlog and whether the uplink delivers, fails or idles",
          "[service]") {
  ServiceSnapshot s = Running();
  CHECK(FormatStatus(s) ==
        "ready; mqtt subscribed; backlog 12 records, 48.0 KiB; uplink delivering");
  CHECK(UplinkActivityOf(s) == UplinkActivity::kDelivering);
  s.uplink_failing_for_ms = 42'900;
  s.uplink_failures = 7;
  CHECK(FormatStatus(s) ==
        "ready; mqtt subscribed; backlog 12 records, 48.0 KiB; uplink failing for 42 s (7 failed "
        "sends)");
  s = Running();
  s.backlog_records = 0;
  s.backlog_bytes = 5 * 1024 * 1024 + 600 * 1024;
  CHECK(FormatStatus(s) == "ready; mqtt subscribed; backlog 0 records, 5.6 MiB; uplink idle");
  s.backlog_records.reset();
  CHECK(FormatStatus(s) == "ready; mqtt subscribed; backlog unknown; uplink idle");
}

TEST_CASE("a lost broker and a stalled thread lead the status", "[service]") {
  ServiceSnapshot s = Running();
  s.subscribed = false;
  s.mqtt_reason = "connection lost: The connection was lost";
  s.stalled = "buffer writer stalled for 12 s";
  CHECK(FormatStatus(s) ==
        "STALLED, watchdog pings withheld: buffer writer stalled for 12 s; ready; mqtt not "
        "subscribed to 127.0.0.1:1883, reconnecting (connection lost: The connection was lost); "
        "backlog 12 records, 48.0 KiB; uplink delivering");
}

TEST_CASE("the state key ignores the numbers and changes with the state", "[service]") {
  const ServiceSnapshot base = Running();
  ServiceSnapshot s = base;
  s.backlog_records = 99'999;
  s.backlog_bytes = 1;
  CHECK(StatusStateKey(s) == StatusStateKey(base));
  s = base;
  s.uplink_failing_for_ms = 1'000;
  CHECK(StatusStateKey(s) != StatusStateKey(base));
  s = base;
  s.subscribed = false;
  CHECK(StatusStateKey(s) != StatusStateKey(base));
  s = base;
  s.stalled = "uplink stalled for 11 s";
  CHECK(StatusStateKey(s) != StatusStateKey(base));
}

}  // namespace
}  // namespace tidegate::agent

namespace tidegate::agent {
namespace {

TEST_CASE("an MQTT uplink adds its connection and the batches awaiting acks", "[service][mqtt]") {
  ServiceSnapshot s = Running();
  s.uplink_mqtt_connected = 1;
  s.uplink_inflight = 3;
  CHECK(FormatStatus(s) ==
        "ready; mqtt subscribed; backlog 12 records, 48.0 KiB; uplink "
        "delivering (mqtt connected, 3 in flight)");
  const std::string connected_key = StatusStateKey(s);
  s.uplink_mqtt_connected = 0;
  CHECK_THAT(FormatStatus(s), Catch::EndsWith("(mqtt not connected, 3 in flight)"));
  CHECK(StatusStateKey(s) != connected_key);  // a lost broker is sent at once
}

}  // namespace
}  // namespace tidegate::agent
