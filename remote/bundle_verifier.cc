// SPDX-License-Identifier: Apache-2.0
#include "remote/bundle_verifier.h"

namespace tidegate::remote {
namespace {

Verdict Refuse(std::string reason, int64_t version, const std::string& detail = "") {
  Verdict verdict;
  verdict.detail = detail.empty() ? reason : reason + " (" + detail + ")";
  verdict.reason = std::move(reason);
  verdict.version = version;
  return verdict;
}

}  // namespace

std::string ForbiddenBundleChange(const Config& current, const Config& next) {
  if (next.agent.id != current.agent.id) return "agent.id";
  if (next.agent.state_dir != current.agent.state_dir) return "agent.state_dir";
  if (current.remote_config.enabled && !next.remote_config.enabled) {
    return "remote_config.enabled";
  }
  const std::string& key = next.remote_config.signing_public_key;
  if (key != current.remote_config.signing_public_key &&
      (key.empty() || key != current.remote_config.next_signing_public_key)) {
    return "remote_config.signing_public_key";
  }
  return "";
}

std::string InvalidConfigReason(std::string_view validator_message) {
  std::string_view line = validator_message.substr(0, validator_message.find('\n'));
  // "source:line: key: message": keep up to the end of the key.
  const size_t after_location = line.find(": ");
  if (after_location != std::string_view::npos) {
    const size_t after_key = line.find(": ", after_location + 2);
    if (after_key != std::string_view::npos) line = line.substr(0, after_key);
  } else {
    line = line.substr(0, 0);
  }
  return "invalid_config: " + std::string(line.empty() ? "unreadable" : line);
}

Verdict BundleVerifier::Verify(std::string_view bundle_bytes, const Config& current) const {
  auto parsed = ParseBundle(bundle_bytes);
  if (!parsed.ok()) {
    const bool too_large = parsed.status().code() == StatusCode::kResourceExhausted;
    return Refuse(too_large ? "too_large" : "malformed", 0, parsed.status().message());
  }
  const Bundle& bundle = *parsed;
  if (!VerifyBundleSignature(bundle, key_)) return Refuse("bad_signature", bundle.version);
  // Checked after the signature, so an unsigned sender learns nothing about this agent.
  if (bundle.agent_id != kAnyAgent && bundle.agent_id != agent_id_) {
    return Refuse("wrong_agent", bundle.version);
  }
  if (bundle.version <= versions_->highest()) {
    return Refuse("replayed_version", bundle.version,
                  "highest accepted is v" + std::to_string(versions_->highest()));
  }
  const std::string source = "bundle v" + std::to_string(bundle.version);
  auto config = validator_(bundle.config, source);
  if (!config.ok()) {
    return Refuse(InvalidConfigReason(config.status().message()), bundle.version,
                  config.status().message());
  }
  const std::string forbidden = ForbiddenBundleChange(current, *config);
  if (!forbidden.empty()) return Refuse("forbidden_change: " + forbidden, bundle.version);
  Verdict verdict;
  verdict.version = bundle.version;
  verdict.bundle = std::move(parsed).value();
  verdict.config = std::move(config).value();
  return verdict;
}

}  // namespace tidegate::remote
