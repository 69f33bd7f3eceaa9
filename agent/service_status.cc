// SPDX-License-Identifier: Apache-2.0
#include "agent/service_status.h"

#include <fmt/format.h>

#include <iterator>

namespace tidegate::agent {
namespace {

// One decimal in the largest binary unit that fits: "512 B", "48.0 KiB", "5.6 MiB".
std::string HumanBytes(uint64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string MqttPart(const ServiceSnapshot& s) {
  if (s.subscribed) return "mqtt subscribed";
  const std::string why = s.mqtt_reason.empty() ? "" : " (" + s.mqtt_reason + ")";
  if (!s.ready) {
    return fmt::format("waiting for the MQTT broker at {} to acknowledge our subscription{}",
                       s.broker, why);
  }
  return fmt::format("mqtt not subscribed to {}, reconnecting{}", s.broker, why);
}

std::string BacklogPart(const ServiceSnapshot& s) {
  if (!s.backlog_records || !s.backlog_bytes) return "backlog unknown";
  return fmt::format("backlog {} records, {}", *s.backlog_records, HumanBytes(*s.backlog_bytes));
}

// uplink.transport mqtt: the broker connection and the batches awaiting acks.
std::string MqttUplinkPart(const ServiceSnapshot& s) {
  if (s.uplink_mqtt_connected < 0) return "";
  return fmt::format(" (mqtt {}, {} in flight)",
                     s.uplink_mqtt_connected == 1 ? "connected" : "not connected",
                     s.uplink_inflight);
}

std::string UplinkActivityPart(const ServiceSnapshot& s) {
  switch (UplinkActivityOf(s)) {
    case UplinkActivity::kFailing:
      return fmt::format("uplink failing for {} s ({} failed sends)",
                         s.uplink_failing_for_ms / 1000, s.uplink_failures);
    case UplinkActivity::kDelivering:
      return "uplink delivering";
    case UplinkActivity::kIdle:
      break;
  }
  return "uplink idle";
}

std::string UplinkPart(const ServiceSnapshot& s) {
  return UplinkActivityPart(s) + MqttUplinkPart(s);
}

}  // namespace

UplinkActivity UplinkActivityOf(const ServiceSnapshot& snapshot) {
  if (snapshot.uplink_failing_for_ms >= 0) return UplinkActivity::kFailing;
  if (snapshot.backlog_records.value_or(0) > 0) return UplinkActivity::kDelivering;
  return UplinkActivity::kIdle;
}

std::string FormatStatus(const ServiceSnapshot& snapshot) {
  std::string status = snapshot.stalled
                           ? "STALLED, watchdog pings withheld: " + *snapshot.stalled + "; "
                           : std::string();
  status += snapshot.ready ? "ready; " : "starting; ";
  status += MqttPart(snapshot) + "; " + BacklogPart(snapshot) + "; " + UplinkPart(snapshot);
  return status;
}

std::string StatusStateKey(const ServiceSnapshot& snapshot) {
  return fmt::format("{}/{}/{}/{}/{}/{}", snapshot.stalled.has_value(), snapshot.ready,
                     snapshot.subscribed, snapshot.mqtt_reason,
                     static_cast<int>(UplinkActivityOf(snapshot)), snapshot.uplink_mqtt_connected);
}

}  // namespace tidegate::agent
