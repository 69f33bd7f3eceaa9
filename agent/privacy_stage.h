// SPDX-License-Identifier: Apache-2.0
// PrivacyStage: one immutable-once-built snapshot of the privacy settings, the token keys
// they use and the filter built from them, so a config reload (SIGHUP or a remote bundle)
// can replace all three at once. Shared by shared_ptr: the ingest thread uses the one it
// picked up until it picks up the next (IngestPipeline::SetPrivacy); the metrics thread
// reads counters of whichever it holds. Built on the thread that applies a config.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "filters/privacy_filter.h"
#include "filters/token_keys.h"

namespace tidegate::agent {

struct PrivacyStage {
  PrivacySection section;  // the filter refers to it: never changed after Build
  std::optional<filters::TokenKeySet> keys;
  std::unique_ptr<filters::PrivacyFilter> filter;  // null when there are no rules
  // source.mqtt.topics, for the priority of each event: swapped with the privacy rules, so
  // a reload that subscribes a new filter gives its events their configured priority.
  std::vector<TopicSpec> topics;

  PrivacyStage() = default;
  PrivacyStage(const PrivacyStage&) = delete;
  PrivacyStage& operator=(const PrivacyStage&) = delete;
};

// Loads the key files config.privacy names and builds the filter. kInvalidArgument naming
// the key file if one cannot be read (key bytes never appear). clock must outlive the stage.
Result<std::shared_ptr<PrivacyStage>> BuildPrivacyStage(const Config& config, Clock& clock);

}  // namespace tidegate::agent
