// SPDX-License-Identifier: Apache-2.0
// The one-line STATUS= the agent reports to systemd (`systemctl status tidegate` shows it):
// what it waits for before READY, then the broker subscription, the backlog and the uplink's
// state. Counts and durations only: never a payload, a secret or the uplink URL. Pure; the
// caller gathers the snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tidegate::agent {

struct ServiceSnapshot {
  bool ready = false;                       // READY=1 was sent
  bool subscribed = false;                  // the broker acknowledged our subscriptions
  std::string broker;                       // HOST:PORT of the MQTT broker
  std::string mqtt_reason;                  // why the source is not connected; "" while connected
  std::optional<uint64_t> backlog_records;  // nullopt: the buffer's stats could not be read
  std::optional<uint64_t> backlog_bytes;    // database and WAL on disk
  int64_t uplink_failing_for_ms = -1;       // since the first failed send; -1: not failing
  uint64_t uplink_failures = 0;             // consecutive failed sends
  int uplink_mqtt_connected = -1;           // uplink.transport mqtt: 0 or 1; -1: https
  uint64_t uplink_inflight = 0;             // mqtt: batches awaiting a collector's ack
  std::optional<std::string> stalled;       // FindStalledThreads' verdict
};

enum class UplinkActivity { kIdle, kDelivering, kFailing };
// Failing while sends fail; delivering while records wait to be sent; idle otherwise.
UplinkActivity UplinkActivityOf(const ServiceSnapshot& snapshot);

// E.g. "ready; mqtt subscribed; backlog 12 records, 48.0 KiB; uplink delivering".
std::string FormatStatus(const ServiceSnapshot& snapshot);

// What the status says with the numbers left out: when it changes, the new status is sent at
// once instead of at the next periodic update.
std::string StatusStateKey(const ServiceSnapshot& snapshot);

}  // namespace tidegate::agent
