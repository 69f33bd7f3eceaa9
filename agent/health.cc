// SPDX-License-Identifier: Apache-2.0
#include "agent/health.h"

#include <fmt/format.h>

#include <algorithm>

namespace tidegate::agent {
namespace {

int64_t MonotonicMs(Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Monotonic().time_since_epoch())
      .count();
}

// The likeliest cause of the failures, for the operator; no URL (it may carry credentials).
std::string FailureCause(const UplinkHealth& health) {
  if (health.peer_untrusted) {
    return "the receiver's certificate does not verify against uplink.tls (untrusted CA, "
           "wrong name or expired)";
  }
  if (health.client_cert_refused) {
    return "the receiver refused our client certificate (uplink.tls cert_file/key_file)";
  }
  if (health.mqtt_connected == 0) {
    return "not connected to the cloud MQTT broker (down, unreachable or TLS failure)";
  }
  if (health.mqtt_connected == 1) {
    return "the collectors do not acknowledge batches (none subscribed, or they answer retry)";
  }
  if (health.last_http_status == 401 || health.last_http_status == 403) {
    return fmt::format("the receiver rejected our credentials (HTTP {})", health.last_http_status);
  }
  if (health.last_http_status != 0) {
    return fmt::format("the receiver answers HTTP {}", health.last_http_status);
  }
  return "no answer from the receiver (down, unreachable or TLS failure)";
}

}  // namespace

Millis UplinkFailingThreshold(const UplinkSection& uplink) {
  return std::max(kMinUplinkFailing, 2 * uplink.retry_max);
}

UplinkHealth ReadUplinkHealth(const uplink::UplinkStats& stats, Clock& clock) {
  UplinkHealth health;
  const int64_t since = stats.failing_since_ms.load();
  if (since != uplink::UplinkStats::kNotFailing) {
    health.failing_for_ms = std::max<int64_t>(0, MonotonicMs(clock) - since);
  }
  health.failures = stats.consecutive_failures.load();
  health.peer_untrusted = stats.peer_untrusted.load();
  health.client_cert_refused = stats.client_cert_refused.load();
  health.last_http_status = stats.last_http_status.load();
  health.mqtt_connected = stats.connected.load();
  return health;
}

std::optional<std::string> UplinkNotReady(const UplinkHealth& health, Millis threshold) {
  if (health.failing_for_ms < 0 || health.failing_for_ms <= threshold.count()) return std::nullopt;
  return fmt::format("uplink not delivering for {} s (threshold {} s, {} failed sends): {}",
                     health.failing_for_ms / 1000, threshold.count() / 1000, health.failures,
                     FailureCause(health));
}

std::optional<Millis> StalledFor(std::chrono::steady_clock::time_point last_progress,
                                 std::chrono::steady_clock::time_point now, Millis limit) {
  const auto stalled = std::chrono::duration_cast<Millis>(now - last_progress);
  if (stalled <= limit) return std::nullopt;
  return stalled;
}

std::optional<std::string> WriterStalled(std::chrono::steady_clock::time_point last_progress,
                                         std::chrono::steady_clock::time_point now) {
  const std::optional<Millis> stalled = StalledFor(last_progress, now, kWriterStalled);
  if (!stalled) return std::nullopt;
  return fmt::format(
      "buffer writer stalled for {} s (limit {} s): a commit, the aggregation stage or "
      "buffer upkeep does not return",
      stalled->count() / 1000, kWriterStalled.count() / 1000);
}

bool CheckLive(const buffer::GroupCommitter& committer, Clock& clock, std::string* why) {
  why->clear();
  if (auto stalled = WriterStalled(committer.last_progress(), clock.Monotonic())) {
    *why = *stalled + "\n";
  }
  return why->empty();
}

bool CheckReady(const ReadinessInputs& in, std::string* why) {
  why->clear();
  auto add = [why](const std::string& line) { *why += line + "\n"; };
  buffer::CommitterStats commits = in.committer.stats();
  if (!commits.healthy) add("buffer commits failing: " + commits.last_error);
  if (!in.source.connected()) add("mqtt source not connected: " + in.source.not_connected_reason());
  if (auto uplink = UplinkNotReady(ReadUplinkHealth(in.uplink, in.clock), in.uplink_threshold)) {
    add(*uplink);
  }
  return why->empty();
}

}  // namespace tidegate::agent
