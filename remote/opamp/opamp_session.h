// SPDX-License-Identifier: Apache-2.0
// OpampSession: the OpAMP agent side as messages, without any I/O, so each rule is
// testable alone. BuildRequest() writes the next AgentToServer; HandleResponse() reads a
// ServerToAgent (untrusted bytes) and, when it offers a tidegate bundle, hands it to the
// BundleHandler and keeps the RemoteConfigStatus to report. Rules (OpAMP spec, "Status
// reporting"):
// - every message carries instance_uid, sequence_num (+1 per message built) and
//   capabilities;
// - the first message, the one after a failed exchange, and the one after a ServerToAgent
//   with the ReportFullState flag carry the full state (agent_description, health,
//   effective_config, remote_config_status); the others only what changed since the last
//   message that reached the server;
// - a remote config whose config_hash equals the last one processed is not handed over again.
// Not thread-safe: owned by the client's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "remote/config_channel.h"

namespace tidegate::remote::opamp {

// The media type of a tidegate bundle inside AgentRemoteConfig.config (SPEC "Remote config").
inline constexpr char kBundleContentType[] = "application/vnd.tidegate.config-bundle+json";

// AgentCapabilities bits (opamp.proto): ReportsStatus | AcceptsRemoteConfig |
// ReportsEffectiveConfig | ReportsHealth | ReportsRemoteConfig.
inline constexpr uint64_t kTidegateCapabilities = 0x1 | 0x2 | 0x4 | 0x800 | 0x1000;
inline constexpr uint64_t kReportFullStateFlag = 0x1;  // ServerToAgentFlags_ReportFullState

struct HealthReport {
  bool healthy = false;
  std::string status{};      // e.g. "ready", "starting", "uplink failing" (no payload values)
  std::string last_error{};  // set when !healthy
  bool operator==(const HealthReport&) const = default;
};
using HealthSource = std::function<HealthReport()>;

// What the agent reported last about a remote config (persisted by the client).
struct RemoteConfigReport {
  enum class State { kUnset = 0, kApplied = 1, kApplying = 2, kFailed = 3 };  // wire values
  std::string hash{};  // the config_hash of the AgentRemoteConfig, as received
  State state = State::kUnset;
  std::string error{};
  bool operator==(const RemoteConfigReport&) const = default;
};

struct SessionOptions {
  std::string instance_uid{};  // 16 bytes
  std::string agent_id{};      // AgentDescription identifying service.instance.id
  std::string agent_version{};
  int64_t start_time_unix_ms = 0;
  size_t max_response_bytes = 1 << 20;  // a larger ServerToAgent is refused unread
  size_t max_bundle_bytes = 256 << 10;  // a larger bundle is reported FAILED, not handed over
};

// What one ServerToAgent did.
struct ResponseOutcome {
  bool bundle_handled = false;  // the handler was called
  bool full_state_requested = false;
  std::optional<std::string> server_error{};  // ServerErrorResponse.error_message (printable)
};

class OpampSession {
 public:
  OpampSession(SessionOptions options, BundleHandler handler, EffectiveConfigSource config,
               HealthSource health);

  // The next AgentToServer, serialized. Increments sequence_num.
  std::string BuildRequest();
  // The exchange of the last built request failed (no valid answer): the next request
  // carries the full state, since the server may have missed the last one.
  void RequestFailed() { full_state_next_ = true; }

  // Processes a ServerToAgent. kCorruption for bytes that do not parse or exceed
  // max_response_bytes (nothing is applied then).
  Result<ResponseOutcome> HandleResponse(std::string_view bytes);

  // The status restored from the previous run (reported in the first message, and used
  // for the config_hash dedup).
  void RestoreRemoteConfigReport(RemoteConfigReport report) { remote_status_ = std::move(report); }
  const RemoteConfigReport& remote_config_report() const { return remote_status_; }
  // What later became of the last bundle handed over (the agent rolled it back): reported as
  // FAILED "rolled back: <reason>" under the same config_hash, so the server records it and
  // does not offer that bundle again.
  void ReportLaterOutcome(const ApplyOutcome& outcome);
  uint64_t sequence_num() const { return sequence_num_; }

 private:
  SessionOptions options_;
  BundleHandler handler_;
  EffectiveConfigSource config_;
  HealthSource health_;

  uint64_t sequence_num_ = 0;
  bool full_state_next_ = true;
  RemoteConfigReport remote_status_{};
  // What the last built message reported, to send only changes.
  std::optional<HealthReport> sent_health_;
  std::optional<std::string> sent_config_;
  std::optional<RemoteConfigReport> sent_remote_status_;
};

}  // namespace tidegate::remote::opamp
