// SPDX-License-Identifier: Apache-2.0
#include "agent/config_apply.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "agent/config_loader.h"
#include "agent/config_semantics.h"
#include "remote/atomic_file.h"

namespace tidegate::agent {
namespace {

constexpr std::string_view kBundleMarker = "# tidegate: remote config bundle v";
constexpr size_t kMaxConfigFileBytes = remote::kMaxBundleBytes;

// The label of tidegate_config_rejected_total: the reason up to its first ':' (a bounded set).
std::string ReasonCategory(const std::string& reason) { return reason.substr(0, reason.find(':')); }

remote::ApplyOutcome Applied(int64_t version) {
  remote::ApplyOutcome outcome;
  outcome.state = remote::ApplyOutcome::State::kApplied;
  outcome.version = version;
  return outcome;
}

}  // namespace

Result<Config> ValidateConfigText(std::string_view text, const std::string& source_name) {
  TG_ASSIGN_OR_RETURN(Config config, ParseConfig(text, source_name));
  TG_RETURN_IF_ERROR(ReadPasswordFile(&config));
  std::string errors;
  for (const auto& problem : CheckConfigSemantics(config)) {
    if (problem.severity == Severity::kError) errors += problem.ToString(source_name) + "\n";
  }
  if (!errors.empty()) {
    errors.pop_back();
    return InvalidArgument(errors);
  }
  return config;
}

std::string RestartRequiredKey(const Config& running, const Config& next) {
  if (!(next.agent == running.agent)) return "agent";
  MqttSourceSection next_mqtt = next.mqtt;
  next_mqtt.topics = running.mqtt.topics;  // topics change live
  if (!(next_mqtt == running.mqtt)) return "source.mqtt";
  if (!(next.events == running.events)) return "events";
  if (!(next.dedup == running.dedup)) return "dedup";
  if (!(next.schemas == running.schemas)) return "schemas";
  // The buffer's bounds change live (SqliteStore::SetBounds); sync, the commit interval and
  // the aggregation state budget are fixed when the writer starts.
  BufferSection next_buffer = next.buffer;
  next_buffer.max_bytes = running.buffer.max_bytes;
  next_buffer.max_events = running.buffer.max_events;
  next_buffer.max_age = running.buffer.max_age;
  next_buffer.when_full = running.buffer.when_full;
  if (!(next_buffer == running.buffer)) return "buffer";
  // The uplink changes live (endpoint, TLS, batching, retry) on the same transport; a change
  // of transport needs a restart.
  if (next.uplink.transport != running.uplink.transport) return "uplink";
  return "";
}

int64_t BundleVersionOfFile(std::string_view text) {
  if (text.substr(0, kBundleMarker.size()) != kBundleMarker) return 0;
  text.remove_prefix(kBundleMarker.size());
  int64_t version = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end == text.data() + text.size() || *end != '\n') return 0;
  return version > 0 && version <= remote::kMaxBundleVersion ? version : 0;
}

Result<std::unique_ptr<ConfigApplier>> ConfigApplier::Create(std::string config_path,
                                                             const Config& running,
                                                             LiveApply apply) {
  std::unique_ptr<ConfigApplier> applier(
      new ConfigApplier(std::move(config_path), running, std::move(apply)));
  if (auto text = remote::ReadWholeFile(applier->path_, kMaxConfigFileBytes); text.ok()) {
    applier->version_.store(BundleVersionOfFile(*text));
  }
  if (!running.remote_config.enabled) return applier;
  const std::string& key_path = running.remote_config.signing_public_key;
  auto key_text = remote::ReadWholeFile(key_path, 4096);
  if (!key_text.ok()) return InvalidArgument("cannot read " + key_path);
  auto key = remote::ParseSigningPublicKey(*key_text);
  if (!key.ok()) return InvalidArgument(key_path + ": " + key.status().message());
  TG_ASSIGN_OR_RETURN(applier->versions_, remote::VersionStore::Open(running.agent.state_dir));
  applier->verifier_ = std::make_unique<remote::BundleVerifier>(
      *key, running.agent.id, &*applier->versions_, ValidateConfigText);
  return applier;
}

std::string ConfigApplier::ApplyValidated(const Config& next) {
  const std::string key = RestartRequiredKey(running_, next);
  if (!key.empty()) return "restart_required: " + key;
  if (Status applied = apply_(next); !applied.ok()) {
    spdlog::error("config: cannot apply: {}", applied.ToString());
    return "apply_failed";
  }
  running_ = next;
  applied_.fetch_add(1);
  return "";
}

remote::ApplyOutcome ConfigApplier::Refused(std::string reason, const std::string& detail,
                                            int64_t version) {
  spdlog::error("config: refused, still running the old config: {}", detail);
  {
    const std::lock_guard<std::mutex> lock(metrics_mu_);
    ++rejected_[ReasonCategory(reason)];
  }
  return {.state = remote::ApplyOutcome::State::kFailed,
          .reason = std::move(reason),
          .version = version,
          .bundle_hash = ""};
}

remote::ApplyOutcome ConfigApplier::ReloadLocal() {
  const std::lock_guard<std::mutex> lock(mu_);
  spdlog::info("config: SIGHUP, reloading {}", path_);
  auto text = remote::ReadWholeFile(path_, kMaxConfigFileBytes);
  if (!text.ok()) return Refused("unreadable", text.status().message(), 0);
  auto next = ValidateConfigText(*text, path_);
  if (!next.ok()) {
    const std::string reason = remote::InvalidConfigReason(next.status().message());
    return Refused(reason, next.status().message(), 0);
  }
  const std::string refused = ApplyValidated(*next);
  if (!refused.empty()) return Refused(refused, path_ + ": " + refused, 0);
  version_.store(BundleVersionOfFile(*text));
  spdlog::info("config: applied {}", path_);
  return Applied(version_.load());
}

Status ConfigApplier::WriteBundleConfig(const remote::Bundle& bundle) {
  auto old_text = remote::ReadWholeFile(path_, kMaxConfigFileBytes);
  if (old_text.ok()) {
    TG_RETURN_IF_ERROR(remote::WriteFileAtomically(path_ + ".last-good", *old_text, 0600));
  }
  const std::string text =
      std::string(kBundleMarker) + std::to_string(bundle.version) + "\n" + bundle.config;
  return remote::WriteFileAtomically(path_, text, 0600);
}

Status ConfigApplier::RestoreLastGood() {
  TG_ASSIGN_OR_RETURN(std::string text,
                      remote::ReadWholeFile(path_ + ".last-good", kMaxConfigFileBytes));
  return remote::WriteFileAtomically(path_, text, 0600);
}

remote::ApplyOutcome ConfigApplier::HandleBundle(std::string_view bundle_bytes) {
  const std::lock_guard<std::mutex> lock(mu_);
  std::string hash(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(hash.data()),
                     reinterpret_cast<const unsigned char*>(bundle_bytes.data()),
                     bundle_bytes.size());
  auto outcome = [&]() -> remote::ApplyOutcome {
    if (!verifier_) return Refused("disabled", "remote_config is not enabled", 0);
    remote::Verdict verdict = verifier_->Verify(bundle_bytes, running_);
    if (!verdict.accepted()) return Refused(verdict.reason, verdict.detail, verdict.version);
    const std::string key = RestartRequiredKey(running_, *verdict.config);
    if (!key.empty()) {
      return Refused("restart_required: " + key, "bundle changes " + key, verdict.version);
    }
    if (Status written = WriteBundleConfig(*verdict.bundle); !written.ok()) {
      return Refused("write_failed", written.ToString(), verdict.version);
    }
    if (Status recorded = versions_->Record(verdict.version); !recorded.ok()) {
      return Refused("write_failed", recorded.ToString(), verdict.version);
    }
    const std::string refused = ApplyValidated(*verdict.config);
    if (!refused.empty()) {
      // The agent runs the old config: the file goes back to it, so a restart runs it too.
      // The version stays consumed; the sender signs a corrected bundle with a new one.
      if (Status restored = RestoreLastGood(); !restored.ok()) {
        spdlog::error("config: cannot restore {}: {}", path_, restored.ToString());
      }
      return Refused(refused, refused, verdict.version);
    }
    version_.store(verdict.version);
    rollback_armed_ = true;
    watch_since_.reset();
    spdlog::info("config: applied bundle v{}", verdict.version);
    return Applied(verdict.version);
  }();
  outcome.bundle_hash = std::move(hash);
  return outcome;
}

void ConfigApplier::SetRollbackReporter(std::function<void(const remote::ApplyOutcome&)> reporter) {
  const std::lock_guard<std::mutex> lock(mu_);
  rollback_reporter_ = std::move(reporter);
}

remote::ApplyOutcome ConfigApplier::RollBack() {
  const int64_t bad_version = version_.load();
  remote::ApplyOutcome outcome;
  outcome.version = bad_version;
  auto text = remote::ReadWholeFile(path_ + ".last-good", kMaxConfigFileBytes);
  auto config = text.ok() ? ValidateConfigText(*text, path_ + ".last-good") : text.status();
  if (!config.ok()) {
    spdlog::error("config: cannot roll back to {}.last-good: {}", path_, config.status().message());
    outcome.reason = "rollback_failed";
    return outcome;
  }
  const std::string refused = ApplyValidated(*config);
  if (!refused.empty()) {
    spdlog::error("config: cannot roll back to {}.last-good: {}", path_, refused);
    outcome.reason = "rollback_failed";
    return outcome;
  }
  if (Status written = remote::WriteFileAtomically(path_, *text, 0600); !written.ok()) {
    spdlog::error("config: rolled back, but cannot write {}: {}", path_, written.ToString());
  }
  version_.store(BundleVersionOfFile(*text));
  rollbacks_.fetch_add(1);
  spdlog::warn("config: bundle v{} left the uplink failing for {} s; rolled back to {}.last-good",
               bad_version, running_.remote_config.rollback_after.count() / 1000, path_);
  outcome.state = remote::ApplyOutcome::State::kRolledBack;
  outcome.reason = "uplink_failing";
  return outcome;
}

void ConfigApplier::CheckRollback(int64_t uplink_failing_for_ms, Millis now) {
  const std::lock_guard<std::mutex> lock(mu_);
  if (!rollback_armed_) return;
  if (!watch_since_) watch_since_ = now;
  const Millis window = running_.remote_config.rollback_after;
  const int64_t watched_ms = (now - *watch_since_).count();
  if (uplink_failing_for_ms < 0) {
    if (watched_ms >= window.count()) rollback_armed_ = false;
    return;
  }
  if (std::min(uplink_failing_for_ms, watched_ms) < window.count()) return;
  rollback_armed_ = false;
  const remote::ApplyOutcome outcome = RollBack();
  if (rollback_reporter_) rollback_reporter_(outcome);
}

void ConfigApplier::AppendMetrics(std::string* out) const {
  *out +=
      "# HELP tidegate_config_version Version of the bundle the running config came from "
      "(0: a local file).\n# TYPE tidegate_config_version gauge\ntidegate_config_version " +
      std::to_string(version_.load()) + "\n";
  *out +=
      "# HELP tidegate_config_applied_total Configs applied live (SIGHUP or bundle).\n"
      "# TYPE tidegate_config_applied_total counter\ntidegate_config_applied_total " +
      std::to_string(applied_.load()) + "\n";
  *out +=
      "# HELP tidegate_config_rejected_total Configs refused (SIGHUP or bundle), by reason.\n"
      "# TYPE tidegate_config_rejected_total counter\n";
  {
    const std::lock_guard<std::mutex> lock(metrics_mu_);
    for (const auto& [reason, count] : rejected_) {
      *out += "tidegate_config_rejected_total{reason=\"" + reason + "\"} " + std::to_string(count) +
              "\n";
    }
  }
  *out +=
      "# HELP tidegate_config_rollbacks_total Applied configs rolled back to the last good "
      "one.\n# TYPE tidegate_config_rollbacks_total counter\ntidegate_config_rollbacks_total " +
      std::to_string(rollbacks_.load()) + "\n";
}

}  // namespace tidegate::agent
