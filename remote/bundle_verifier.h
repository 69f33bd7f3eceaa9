// SPDX-License-Identifier: Apache-2.0
// Decides whether a received bundle may become the agent's config: its size and form, the
// signature under the pinned key, the agent it names, a version above every one accepted
// before (VersionStore), the config text under the same strict validator as `config check`,
// and the keys a bundle may not change (docs/remote-config.md, "What a bundle cannot
// change"). Each refusal carries a short fixed reason for the channel and a detail for the
// local log. Not thread-safe: one owner (the agent's config applier) calls it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "remote/bundle.h"
#include "remote/version_store.h"

namespace tidegate::remote {

// Validates config text as `config check` would, naming it source_name in messages.
// kInvalidArgument with one problem a line ("bundle v7:12: key: message") when invalid.
using ConfigValidator =
    std::function<Result<Config>(std::string_view text, const std::string& source_name)>;

struct Verdict {
  // Set when accepted.
  std::optional<Bundle> bundle;
  std::optional<Config> config;
  // Empty when accepted, else one of: too_large, malformed, bad_signature, wrong_agent,
  // replayed_version, invalid_config: <source:line: key>, forbidden_change: <key>,
  // version_record: unreadable. Never holds config values or key bytes.
  std::string reason;
  // For the local log: the reason with the validator's whole message (file, line, key).
  std::string detail;
  int64_t version = 0;  // 0 when it could not be read

  bool accepted() const { return reason.empty(); }
};

// The keys of `next` a bundle may not change from `current`: remote_config.enabled (cannot
// turn remote config off), remote_config.signing_public_key (except to the current
// remote_config.next_signing_public_key), agent.id and agent.state_dir. Returns the first
// such key, or "" if none.
std::string ForbiddenBundleChange(const Config& current, const Config& next);

// "invalid_config: <source:line: key>" from a validator's message (its first line, without
// the message text, which may quote values).
std::string InvalidConfigReason(std::string_view validator_message);

class BundleVerifier {
 public:
  // REQUIRES: validator is callable; versions outlives this verifier.
  BundleVerifier(SigningPublicKey key, std::string agent_id, VersionStore* versions,
                 ConfigValidator validator)
      : key_(key),
        agent_id_(std::move(agent_id)),
        versions_(versions),
        validator_(std::move(validator)) {}

  // Every check against the running config `current`; records nothing (the caller records
  // the version once the config is written: VersionStore::Record).
  Verdict Verify(std::string_view bundle_bytes, const Config& current) const;

 private:
  SigningPublicKey key_;
  std::string agent_id_;
  VersionStore* versions_;
  ConfigValidator validator_;
};

}  // namespace tidegate::remote
