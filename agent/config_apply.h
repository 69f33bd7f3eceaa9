// SPDX-License-Identifier: Apache-2.0
// ConfigApplier: the one place a new config enters a running agent, from SIGHUP (the local
// -c FILE) or from a remote-config channel (a signed bundle, through handler()). It
// validates as `config check` does, refuses what cannot change while running, writes an
// accepted bundle's config over FILE atomically (the previous file kept as FILE.last-good),
// records the bundle version, and hands the config to the agent's live-apply callback.
// Thread-safe: calls are serialised by one mutex (SIGHUP on the main thread, channels on
// their own); metrics may be read from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"
#include "remote/bundle_verifier.h"
#include "remote/config_channel.h"
#include "remote/version_store.h"

namespace tidegate::agent {

// Validates config text as `config check` does (files opened and mode-checked); every error
// one line, "source_name:LINE: key: message".
Result<Config> ValidateConfigText(std::string_view text, const std::string& source_name);

// The first section or key of `next` that differs from `running` and that this build can
// only take at a restart: "" if the change can be applied live. Live today: privacy (rules
// and keys; token and recipient key files are re-read on every apply), source.mqtt.topics
// (resubscribed on the same session), remote_config, aggregate (an unchanged aggregation
// keeps its state, a changed one starts fresh), uplink unless uplink.transport changes
// (the uplink worker is rebound to a new transport), and the buffer's bounds (max_bytes,
// max_events, max_age, when_full; enforced at once).
std::string RestartRequiredKey(const Config& running, const Config& next);

// The first line of a config file written from bundle vN: "# tidegate: remote config
// bundle vN". Returns N, or 0 for a file that does not start with it.
int64_t BundleVersionOfFile(std::string_view text);

class ConfigApplier {
 public:
  // Applies next to the running pipeline; an error leaves the old config running.
  using LiveApply = std::function<Status(const Config& next)>;

  // running: the config the agent started with from config_path. With remote_config
  // enabled, reads the signing public key and state_dir's version record (errors are
  // kInvalidArgument / kCorruption naming the file).
  static Result<std::unique_ptr<ConfigApplier>> Create(std::string config_path,
                                                       const Config& running, LiveApply apply);

  // SIGHUP: re-reads config_path. A refused file is logged with the validator's message
  // and counted; the agent keeps running on the old config.
  remote::ApplyOutcome ReloadLocal();

  // One received bundle (remote_config must be enabled, else refused as "disabled").
  remote::ApplyOutcome HandleBundle(std::string_view bundle_bytes);

  // For a channel. The applier must outlive every call.
  remote::BundleHandler handler() {
    return [this](std::string_view bytes) { return HandleBundle(bytes); };
  }

  // Where a channel hears of a rollback (the last handler's reporter): called on the thread
  // of CheckRollback, outside no lock but this applier's.
  void SetRollbackReporter(std::function<void(const remote::ApplyOutcome&)> reporter);

  // Main thread, on every monitor tick; now is monotonic. After a bundle is applied, watches
  // the uplink for remote_config.rollback_after: if it has failed for that long since the
  // apply (uplink_failing_for_ms, -1 while delivering), FILE.last-good is validated, applied
  // live and written back as FILE, counted, and reported as kRolledBack "uplink_failing".
  // The version record keeps the rolled-back version (no replay of it). A watch ends after
  // rollback_after without such a failure.
  void CheckRollback(int64_t uplink_failing_for_ms, Millis now);

  // tidegate_config_version, tidegate_config_applied_total,
  // tidegate_config_rejected_total{reason}, tidegate_config_rollbacks_total in Prometheus text.
  void AppendMetrics(std::string* out) const;

 private:
  ConfigApplier(std::string config_path, Config running, LiveApply apply)
      : path_(std::move(config_path)), apply_(std::move(apply)), running_(std::move(running)) {}

  // REQUIRES: mu_ held. Refuses or applies next; on success running_ becomes next.
  std::string ApplyValidated(const Config& next);
  remote::ApplyOutcome Refused(std::string reason, const std::string& detail, int64_t version);
  Status WriteBundleConfig(const remote::Bundle& bundle);
  // Puts FILE.last-good back as FILE (after a bundle that was written but not applied).
  Status RestoreLastGood();
  // REQUIRES: mu_ held. Applies FILE.last-good; the outcome to report.
  remote::ApplyOutcome RollBack();

  const std::string path_;
  const LiveApply apply_;
  std::mutex mu_;
  Config running_;                                    // guarded by mu_
  std::optional<remote::VersionStore> versions_;      // guarded by mu_
  std::unique_ptr<remote::BundleVerifier> verifier_;  // guarded by mu_
  // The rollback watch: armed by an applied bundle; watch_since_ is set at the first tick.
  bool rollback_armed_ = false;                                         // guarded by mu_
  std::optional<Millis> watch_since_;                                   // guarded by mu_
  std::function<void(const remote::ApplyOutcome&)> rollback_reporter_;  // guarded by mu_

  std::atomic<int64_t> version_{0};
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> rollbacks_{0};
  mutable std::mutex metrics_mu_;
  std::map<std::string, uint64_t> rejected_;  // guarded by metrics_mu_; reason category
};

}  // namespace tidegate::agent
