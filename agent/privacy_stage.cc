// SPDX-License-Identifier: Apache-2.0
#include "agent/privacy_stage.h"

#include "schema/sealed_value.h"

namespace tidegate::agent {

Result<std::shared_ptr<PrivacyStage>> BuildPrivacyStage(const Config& config, Clock& clock) {
  auto stage = std::make_shared<PrivacyStage>();
  stage->section = config.privacy;
  stage->topics = config.mqtt.topics;
  if (stage->section.rules.empty()) return stage;
  if (!stage->section.key_file.empty()) {
    TG_ASSIGN_OR_RETURN(stage->keys, filters::TokenKeySet::Load(stage->section.key_file));
  }
  std::optional<schema::PublicKey> recipient;
  if (!stage->section.recipient_public_key.empty()) {
    TG_ASSIGN_OR_RETURN(std::string text,
                        filters::ReadSmallFile(stage->section.recipient_public_key));
    auto parsed = schema::ParsePublicKeyHex(text);
    if (!parsed.ok()) {
      return InvalidArgument(stage->section.recipient_public_key + ": " +
                             parsed.status().message());
    }
    recipient = *parsed;
  }
  TG_ASSIGN_OR_RETURN(stage->filter,
                      filters::PrivacyFilter::Create(
                          stage->section, stage->keys ? &*stage->keys : nullptr, recipient, clock));
  return stage;
}

}  // namespace tidegate::agent
