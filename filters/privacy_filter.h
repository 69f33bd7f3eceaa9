// SPDX-License-Identifier: Apache-2.0
// PrivacyFilter: the privacy stage between parsing and the buffer. For each message it
// merges the privacy.rules whose topic filter matches into a tree of JSON Pointer paths and
// rewrites the payload in one pass (simdjson On-Demand): drop removes a field or array
// element; mask keeps a safe part (a value that does not fit is dropped, never passed raw);
// encrypt seals the value's JSON text under the current key epoch; tokenize replaces it with
// "tok:<key_id>:<hash>"; scrub tokenizes emails, phones, IP addresses and card numbers inside
// strings. One action per path, by precedence drop > mask > encrypt > tokenize > scrub; an
// action on an object or array applies to the whole value (scrub: to every string in it).
// The output is compact JSON. Raw values exist only in this object's scratch buffers.
// Not thread-safe: one per ingest thread.
#pragma once

#include <simdjson.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "filters/envelope.h"
#include "filters/scrubber.h"
#include "filters/token_keys.h"
#include "filters/tokenizer.h"

namespace tidegate::filters {

// Counts of what the privacy stage did (relaxed atomics; read by the metrics page).
struct PrivacyCounters {
  std::atomic<uint64_t> tokenized{0};
  std::atomic<uint64_t> encrypted{0};
  std::atomic<uint64_t> masked{0};
  std::atomic<uint64_t> mask_unfit{0};  // values that did not fit their mask: dropped
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> scrubbed{0};  // matches tokenized inside free text
  std::atomic<uint64_t> failed{0};    // payloads that could not be rewritten: dead-lettered
};

struct PrivacyResult {
  bool rewritten = false;                 // *out holds the filtered payload
  bool failed = false;                    // the payload must be dead-lettered (no bytes kept)
  uint64_t key_epoch = 0;                 // epoch of encrypted values in this payload, 0 if none
  std::optional<KeyEpoch> started_epoch;  // store durably with this event
};

class PrivacyFilter {
 public:
  // keys is required if a rule tokenizes or scrubs, recipient if a rule encrypts (the config
  // loader checks this). keys and clock must outlive the filter.
  static Result<std::unique_ptr<PrivacyFilter>> Create(
      const PrivacySection& config, const TokenKeySet* keys,
      const std::optional<schema::PublicKey>& recipient, Clock& clock);
  ~PrivacyFilter();

  // Filters payload (valid JSON, already validated by EventParser) received on topic. When
  // no rule matches, returns rewritten = false and *out is untouched.
  PrivacyResult Apply(std::string_view topic, std::string_view payload, std::string* out);

  const PrivacyCounters& counters() const { return counters_; }

  struct PathNode;  // the merged rule tree of one set of matching rules (privacy_filter.cc)

 private:
  explicit PrivacyFilter(const PrivacySection& config);
  const PathNode* PlanFor(std::string_view topic);
  const PathNode* BuildPlan(std::string_view topic);

  class Rewriter;
  const PrivacySection& config_;
  std::optional<Tokenizer> tokenizer_;
  std::optional<EnvelopeEncryptor> encryptor_;
  simdjson::ondemand::parser parser_;
  std::string padded_;
  std::string scratch_;  // a value's canonical or JSON text on its way to a token or a seal
  // A plan per set of matching rules (one bit per rule), built once; and which plan each topic
  // uses. Both bounded (cleared when full): device topics are many and an attacker can invent
  // more, but clearing the topic map drops pointers, not plans, so a gateway with more device
  // topics than it holds costs a few rule matches per miss instead of a plan rebuild.
  std::unordered_map<std::string, std::unique_ptr<PathNode>> plans_;
  std::unordered_map<std::string, const PathNode*> topic_plans_;
  std::string matched_;     // scratch: the rule bits of the topic being planned
  std::string last_topic_;  // the plan of the last topic, for repeats
  const PathNode* last_plan_ = nullptr;
  PrivacyCounters counters_;
};

}  // namespace tidegate::filters
