// SPDX-License-Identifier: Apache-2.0
// IngestPipeline: what runs for each MQTT message on the ingest thread: parse and validate,
// (privacy filter, dedup and windows as they are added), then stage the event for group
// commit. Bad input becomes a dead letter (topic, reason, size; never the payload) and is
// counted. Used by the ingest thread only; metrics are atomics readable anywhere.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/ingest_metrics.h"
#include "agent/privacy_stage.h"
#include "buffer/group_committer.h"
#include "common/age_clock.h"
#include "common/clock.h"
#include "common/config.h"
#include "filters/dedup_index.h"
#include "filters/dedup_key.h"
#include "filters/event_parser.h"
#include "filters/payload_schema.h"
#include "filters/privacy_filter.h"

namespace tidegate::agent {

class IngestPipeline {
 public:
  // config, committer and clock (the buffer's, SqliteStore::age_clock) must outlive this
  // object. privacy must not be null (its filter is null when no rules are configured).
  IngestPipeline(const Config& config, buffer::GroupCommitter& committer, AgeClock& clock,
                 std::shared_ptr<PrivacyStage> privacy);

  // Handles one message. May block while the buffer applies backpressure.
  void OnMessage(std::string_view topic, std::string_view payload);

  // Any thread: the next message (not one in progress) is filtered by stage, so every event
  // sees exactly one privacy config, whole. The old stage is released on the ingest thread
  // (or by whoever else still holds it). REQUIRES: stage not null.
  void SetPrivacy(std::shared_ptr<PrivacyStage> stage);

  const IngestMetrics& metrics() const { return metrics_; }

  // Schema violations by schema name (all versions of a name together) and rule, for
  // tidegate_schema_violations_total: at most kMaxSchemas names x a fixed set of rules.
  using RuleCounters =
      std::array<std::atomic<uint64_t>, static_cast<size_t>(filters::SchemaRule::kCount)>;
  const std::vector<std::string>& schema_names() const { return schema_names_; }
  const std::vector<RuleCounters>& schema_violations() const { return schema_violations_; }
  // Restores the dedup keys of an earlier run (SqliteStore::ForEachDedupKey), before Start:
  // Reserve once with how many will come, then one Restore per key.
  void ReserveDedupKeys(size_t keys) { dedup_.Reserve(keys); }
  void RestoreDedupKeys(std::span<const std::pair<uint64_t, int64_t>> keys) {
    dedup_.Restore(keys);
  }
  // The buffer's dedup hash key, and until when (age_ms) keys of the legacy hash may be in the
  // window (SqliteStore::dedup_hash_key, dedup_legacy_until); before Start.
  void SetDedupHash(const filters::DedupHashKey& key, int64_t legacy_until) {
    dedup_hasher_ = filters::DedupHasher(key);
    dedup_legacy_until_ = legacy_until;
  }

 private:
  int PriorityOf(std::string_view topic) const;
  void DeadLetter(std::string_view topic, filters::DropReason reason, size_t size,
                  std::string detail = {});
  void SchemaDeadLetter(std::string_view topic, const filters::PayloadSchema& schema, size_t size);
  // True if the message is a repeat within dedup.window (counted, not stored). age_ms: the
  // age line, so a wall-clock step neither expires keys nor keeps them.
  bool IsDuplicate(std::string_view topic, std::string_view payload, int64_t age_ms);
  // Ingest thread: picks up a stage SetPrivacy left, if any.
  void PickUpPrivacy();
  void ApplyPrivacy(std::string_view topic, size_t payload_size, bool* dropped);

  buffer::GroupCommitter& committer_;
  AgeClock& clock_;
  filters::EventParser parser_;
  // The live swap: SetPrivacy leaves a stage in pending_privacy_ and raises
  // privacy_generation_; the ingest thread compares it with its own count before each message
  // (one relaxed-cost atomic load) and only then takes the mutex. privacy_ is the ingest
  // thread's own.
  std::shared_ptr<PrivacyStage> privacy_;
  uint64_t privacy_seen_ = 0;
  std::atomic<uint64_t> privacy_generation_{0};
  std::mutex privacy_mu_;
  std::shared_ptr<PrivacyStage> pending_privacy_;  // guarded by privacy_mu_
  std::vector<filters::PayloadSchema> schemas_;    // compiled config.schemas
  std::vector<size_t> schema_name_index_;          // schemas_[i]'s index in schema_names_
  std::vector<std::string> schema_names_;
  std::vector<RuleCounters> schema_violations_;  // by schema_names_ index
  filters::DedupIndex dedup_;
  filters::DedupHasher dedup_hasher_{filters::DedupHashKey{}};
  int64_t dedup_legacy_until_ = 0;
  Event event_;           // reused between messages to keep its string capacity
  std::string filtered_;  // privacy output, reused
  IngestMetrics metrics_;
};

}  // namespace tidegate::agent
