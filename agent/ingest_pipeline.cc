// SPDX-License-Identifier: Apache-2.0
#include "agent/ingest_pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/json_escape.h"
#include "common/topic_filter.h"

namespace tidegate::agent {
namespace {

// A topic that is not UTF-8 is stored with its bad bytes replaced, never raw.
std::string PrintableTopic(std::string_view topic) {
  if (IsValidUtf8(topic)) return std::string(topic);
  std::string out;
  for (char c : topic) out.push_back(static_cast<unsigned char>(c) < 0x80 ? c : '?');
  return out;
}

}  // namespace

IngestPipeline::IngestPipeline(const Config& config, buffer::GroupCommitter& committer,
                               AgeClock& clock, std::shared_ptr<PrivacyStage> privacy)
    : committer_(committer),
      clock_(clock),
      parser_(config.events, config.mqtt.max_payload_bytes),
      privacy_(std::move(privacy)),
      dedup_(config.dedup.window) {
  for (const SchemaSpec& spec : config.schemas) {
    auto compiled = filters::PayloadSchema::Compile(spec);
    if (!compiled.ok()) {  // the config loader refuses such a schema: not reached
      spdlog::error("ingest: schema {} v{} not used: {}", spec.name, spec.version,
                    compiled.status().ToString());
      continue;
    }
    auto it = std::find(schema_names_.begin(), schema_names_.end(), spec.name);
    schema_name_index_.push_back(static_cast<size_t>(it - schema_names_.begin()));
    if (it == schema_names_.end()) schema_names_.push_back(spec.name);
    schemas_.push_back(std::move(compiled).value());
  }
  schema_violations_ = std::vector<RuleCounters>(schema_names_.size());
}

int IngestPipeline::PriorityOf(std::string_view topic) const {
  for (const TopicSpec& spec : privacy_->topics) {
    if (TopicMatches(spec.filter, topic)) return spec.priority;
  }
  return 5;
}

void IngestPipeline::DeadLetter(std::string_view topic, filters::DropReason reason, size_t size,
                                std::string detail) {
  metrics_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
  metrics_.dead_letters_by_reason[static_cast<size_t>(reason)].fetch_add(1,
                                                                         std::memory_order_relaxed);
  std::string printable = PrintableTopic(topic);
  spdlog::debug("ingest: dead letter topic={} reason={} size={} {}", printable,
                filters::DropReasonName(reason), size, detail);
  committer_.AddDeadLetter(buffer::DeadLetter{.time_ms = clock_.clock().NowUnixMs(),
                                              .topic = std::move(printable),
                                              .reason = filters::DropReasonName(reason),
                                              .size = size,
                                              .detail = std::move(detail)});
}

void IngestPipeline::SchemaDeadLetter(std::string_view topic, const filters::PayloadSchema& schema,
                                      size_t size) {
  const filters::SchemaViolation& v = parser_.last_violation();
  const auto index = static_cast<size_t>(&schema - schemas_.data());
  schema_violations_[schema_name_index_[index]][static_cast<size_t>(v.rule)].fetch_add(
      1, std::memory_order_relaxed);
  DeadLetter(topic, filters::DropReason::kSchemaViolation, size,
             filters::ViolationDetail(schema, v));
}

bool IngestPipeline::IsDuplicate(std::string_view topic, std::string_view payload, int64_t age_ms) {
  event_.dedup_key = 0;
  if (!dedup_.enabled()) return false;
  const uint64_t key = dedup_hasher_.Key(event_.device_id, parser_.last_id(), topic, payload);
  // Keys an earlier release stored, while they can still be in the window.
  bool seen =
      age_ms < dedup_legacy_until_ &&
      dedup_.Contains(filters::LegacyDedupKey(event_.device_id, parser_.last_id(), topic, payload),
                      age_ms);
  if (!seen) seen = dedup_.SeenBefore(key, age_ms, &event_.dedup_expires_ms);
  metrics_.dedup_evicted.store(dedup_.evicted(), std::memory_order_relaxed);
  if (seen) {
    metrics_.duplicates.fetch_add(1, std::memory_order_relaxed);
    committer_.AddCounter("duplicates", 1);
    return true;
  }
  event_.dedup_key = key;
  return false;
}

void IngestPipeline::SetPrivacy(std::shared_ptr<PrivacyStage> stage) {
  const std::lock_guard<std::mutex> lock(privacy_mu_);
  pending_privacy_ = std::move(stage);
  privacy_generation_.fetch_add(1, std::memory_order_release);
}

void IngestPipeline::PickUpPrivacy() {
  const uint64_t generation = privacy_generation_.load(std::memory_order_acquire);
  if (generation == privacy_seen_) return;
  std::shared_ptr<PrivacyStage> next;
  {
    const std::lock_guard<std::mutex> lock(privacy_mu_);
    next = std::move(pending_privacy_);
  }
  privacy_seen_ = generation;
  if (next) privacy_ = std::move(next);
}

void IngestPipeline::ApplyPrivacy(std::string_view topic, size_t payload_size, bool* dropped) {
  *dropped = false;
  event_.key_epoch = 0;
  filters::PrivacyFilter* privacy = privacy_->filter.get();
  if (privacy == nullptr) return;
  filters::PrivacyResult result = privacy->Apply(topic, event_.payload, &filtered_);
  if (result.failed) {
    event_.payload.clear();
    DeadLetter(topic, filters::DropReason::kPrivacyFailed, payload_size);
    *dropped = true;
    return;
  }
  if (result.rewritten) event_.payload.swap(filtered_);
  event_.key_epoch = result.key_epoch;
  if (result.started_epoch) {
    committer_.AddKeyEpoch(
        buffer::SealedKeyEpoch{.epoch = result.started_epoch->epoch,
                               .sealed = std::move(result.started_epoch->sealed),
                               .created_at_ms = result.started_epoch->created_at_ms});
  }
}

void IngestPipeline::OnMessage(std::string_view topic, std::string_view payload) {
  metrics_.received.fetch_add(1, std::memory_order_relaxed);
  // ingest_time is the wall clock (it jumps with a step); the age stamp and the dedup window
  // are on the age line.
  const TimeReading now = clock_.Now();
  const filters::PayloadSchema* schema = filters::SelectSchema(schemas_, topic);
  filters::DropReason reason = parser_.Parse(topic, payload, now.wall_ms, &event_, schema);
  if (reason == filters::DropReason::kSchemaViolation) {
    SchemaDeadLetter(topic, *schema, payload.size());
    return;
  }
  if (reason != filters::DropReason::kNone) {
    DeadLetter(topic, reason, payload.size());
    return;
  }
  event_.age_ms = now.age_ms;
  if (IsDuplicate(topic, payload, now.age_ms)) return;
  PickUpPrivacy();
  bool dropped = false;
  ApplyPrivacy(topic, payload.size(), &dropped);
  if (dropped) return;
  event_.priority = PriorityOf(topic);
  auto start = clock_.clock().Monotonic();
  Event staged = event_;  // the committer takes ownership; event_ keeps its buffers
  if (!committer_.Add(std::move(staged))) {
    // Only possible if the committer stopped before the MQTT source, a shutdown-order bug:
    // libmosquitto has already acknowledged this message.
    spdlog::error("ingest: buffer closed before the MQTT source; an event from {} was lost", topic);
    return;
  }
  metrics_.blocked_ns.fetch_add(
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.clock().Monotonic() - start)
              .count()),
      std::memory_order_relaxed);
  metrics_.ingested.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tidegate::agent
