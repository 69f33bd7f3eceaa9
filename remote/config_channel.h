// The seam between a remote-config channel (OpAMP or MQTT) and the agent that verifies and
// applies bundles. A channel only moves bytes: it hands each bundle it receives to a
// BundleHandler and reports the outcome the handler returns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tidegate::remote {

// What became of one received bundle, as reported back on the channel.
struct ApplyOutcome {
  enum class State { kApplied, kFailed, kRolledBack };
  State state = State::kFailed;
  // A short operator-readable reason for kFailed / kRolledBack (never config values or keys).
  std::string reason;
  // The bundle's version, 0 when it could not be read.
  int64_t version = 0;
  // SHA-256 of the bundle bytes as received (OpAMP's last_remote_config_hash).
  std::string bundle_hash;
};

// Verifies and applies one bundle (bounded in size by the channel before the call).
// Called from the channel's own thread; must be safe to call while the pipeline runs.
using BundleHandler = std::function<ApplyOutcome(std::string_view bundle_bytes)>;

// The effective config the agent reports (YAML text with secrets and key paths redacted).
using EffectiveConfigSource = std::function<std::string()>;

}  // namespace tidegate::remote
