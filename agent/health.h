// SPDX-License-Identifier: Apache-2.0
// The verdicts of the metrics server's probes. /healthz (liveness) fails only if the agent
// itself is stuck: a restart fixes no broker, receiver or disk, and one while commits fail
// would lose staged events the broker already handed over. /readyz (readiness) needs the
// buffer committing, the broker connected and the uplink not failing past a threshold; its
// body names each failing condition, never a secret. Called on the metrics server's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "agent/mqtt_source.h"
#include "buffer/group_committer.h"
#include "common/clock.h"
#include "common/config.h"
#include "uplink/uplink_worker.h"

namespace tidegate::agent {

// An uplink that cannot deliver for longer than max(2 x uplink.retry.max,
// kMinUplinkFailing) is not ready. Twice the longest backoff: the worker has reached it and
// a send at that spacing failed again, so a receiver that restarts or a short outage does
// not flap readiness; the floor keeps sub-second retry settings from doing so either.
inline constexpr Millis kMinUplinkFailing{10'000};
Millis UplinkFailingThreshold(const UplinkSection& uplink);

// What readiness looks at of the uplink, at one instant.
struct UplinkHealth {
  int64_t failing_for_ms = -1;  // since the first failed send of the current run; -1: none
  uint64_t failures = 0;        // consecutive failed sends
  bool peer_untrusted = false;
  bool client_cert_refused = false;
  int last_http_status = 0;  // 0: no HTTP answer
  int mqtt_connected = -1;   // uplink.transport mqtt: 0 or 1; -1: https (no connection state)
};
UplinkHealth ReadUplinkHealth(const uplink::UplinkStats& stats, Clock& clock);

// Why the uplink is not ready ("uplink not delivering for 12 s (threshold 10 s, 7 failed
// sends): ..."), or nullopt while it delivers or has failed for less than the threshold.
std::optional<std::string> UplinkNotReady(const UplinkHealth& health, Millis threshold);

// The buffer writer goes round its loop at least every few seconds (commit_interval,
// idle_tick, its 2 s retry) unless a commit, the aggregation stage or upkeep hangs. Five
// minutes is two orders of magnitude above the slowest healthy commit or checkpoint on an
// SD card, so only a hung disk or a deadlock fails liveness, never a slow moment.
inline constexpr Millis kWriterStalled{5 * 60'000};

// How long a thread whose heartbeat last beat at `last_progress` has been stalled, if that
// is longer than `limit` (nullopt otherwise). Shared by /healthz and the systemd watchdog.
std::optional<Millis> StalledFor(std::chrono::steady_clock::time_point last_progress,
                                 std::chrono::steady_clock::time_point now, Millis limit);

// Why the writer looks stuck ("buffer writer stalled for 312 s ..."), or nullopt.
std::optional<std::string> WriterStalled(std::chrono::steady_clock::time_point last_progress,
                                         std::chrono::steady_clock::time_point now);

// Liveness: the buffer writer is making progress. Lock-free (a deadlocked writer must not
// hang the probe as well).
bool CheckLive(const buffer::GroupCommitter& committer, Clock& clock, std::string* why);

// Readiness; *why gets one line per failing condition.
struct ReadinessInputs {
  const MqttSource& source;
  const buffer::GroupCommitter& committer;
  const uplink::UplinkStats& uplink;
  Millis uplink_threshold;
  Clock& clock;
};
bool CheckReady(const ReadinessInputs& in, std::string* why);

}  // namespace tidegate::agent
