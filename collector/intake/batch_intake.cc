// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/batch_intake.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "collector/intake/test_exit_after_land.h"
#include "common/json_escape.h"
#include "schema/batch_view.h"

namespace tidegate::collector {
namespace {

bool HasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// The name of the first text field of `batch` that holds a NUL byte, or empty. PostgreSQL
// text cannot hold U+0000 (and libpq parameters are C strings): such a batch could never
// land there and would be retried forever, blocking the agent's drain. Both stores refuse it
// the same way, as a permanent rejection the agent dead-letters.
std::string_view FirstFieldWithNul(const schema::DecodedBatch& batch) {
  if (HasNul(batch.agent_id)) return "agent_id";
  if (HasNul(batch.batch_id)) return "batch_id";
  for (const schema::DecodedEvent& e : batch.events) {
    if (HasNul(e.topic)) return "event topic";
    if (HasNul(e.device_id)) return "event device_id";
    if (HasNul(e.payload)) return "event payload";
  }
  for (const schema::DecodedWindowResult& w : batch.window_results) {
    if (HasNul(w.name)) return "window result name";
    if (HasNul(w.group_key)) return "window result group_key";
    for (const schema::DecodedMeasure& m : w.measures) {
      if (HasNul(m.field)) return "window result measure field";
      for (const schema::DecodedStat& st : m.stats) {
        if (HasNul(st.name)) return "window result stat name";
      }
    }
  }
  return {};
}

}  // namespace

std::string QuotedForLog(std::string_view text) {
  std::string out;
  if (IsValidUtf8(text)) {
    AppendJsonString(&out, text);
  } else {
    out = "<invalid utf-8>";
  }
  return out;
}

BatchIntake::BatchIntake(LandingStore& store, Limits limits, const RawArchive* raw,
                         const FieldDecryptor* decryptor, const schema::DictionarySet* dictionaries)
    : store_(store),
      limits_(limits),
      raw_(raw),
      decryptor_(decryptor),
      dictionaries_(dictionaries) {}

IntakeOutcome BatchIntake::Accept(std::string_view claimed_batch_id, std::string_view compressed,
                                  const std::vector<std::string>* identities) {
  if (compressed.size() > limits_.max_body_bytes) {
    return Reject(RejectKind::kTooLarge,
                  fmt::format("body exceeds the limit of {} bytes", limits_.max_body_bytes),
                  nullptr);
  }
  if (raw_ != nullptr) {
    if (Status kept = raw_->Keep(claimed_batch_id, compressed); !kept.ok()) {
      spdlog::error("{}", kept.ToString());
      IntakeOutcome outcome;
      outcome.verdict = IntakeVerdict::kRetry;
      outcome.reason = "storage error, retry later";
      return outcome;
    }
  }
  Result<std::string> plain =
      schema::DecompressBatch(compressed, limits_.max_decompressed_bytes, dictionaries_);
  if (!plain.ok() && plain.status().code() == StatusCode::kNotFound) {
    return MissingDictionary(plain.status());
  }
  if (!plain.ok()) return Reject(RejectKind::kInvalid, plain.status().message(), nullptr);
  Result<schema::DecodedBatch> batch = schema::DecodeBatch(*plain);
  if (!batch.ok()) return Reject(RejectKind::kInvalid, batch.status().message(), nullptr);
  if (batch->schema_version > schema::kSchemaVersion) {
    return Reject(RejectKind::kInvalid,
                  fmt::format("schema_version {} is newer than this collector's {}",
                              batch->schema_version, schema::kSchemaVersion),
                  &*batch);
  }
  if (claimed_batch_id != batch->batch_id) {
    return Reject(RejectKind::kInvalid, "Idempotency-Key does not match the batch_id in the body",
                  &*batch);
  }
  if (identities != nullptr &&
      std::find(identities->begin(), identities->end(), batch->agent_id) == identities->end()) {
    return Reject(RejectKind::kForbidden,
                  fmt::format("the client certificate ({}) does not name agent_id {}",
                              fmt::join(*identities, ", "), batch->agent_id),
                  &*batch);
  }
  if (decryptor_ != nullptr) decryptor_->DecryptBatch(&*batch);
  if (std::string_view field = FirstFieldWithNul(*batch); !field.empty()) {
    return Reject(RejectKind::kInvalid,
                  fmt::format("{} contains a NUL byte, which the landing store cannot hold", field),
                  &*batch);
  }
  IntakeOutcome outcome;
  outcome.batch_id = batch->batch_id;
  outcome.agent_id = batch->agent_id;
  Result<LandOutcome> landed = store_.Land(*batch);
  if (!landed.ok() && landed.status().code() == StatusCode::kInvalidArgument) {
    // The store can never land it (an incompatible payload schema): nothing was written.
    return Reject(RejectKind::kInvalid, landed.status().message(), &*batch);
  }
  if (!landed.ok()) {
    spdlog::error("landing failed batch_id={} agent_id={}: {}", QuotedForLog(batch->batch_id),
                  QuotedForLog(batch->agent_id), landed.status().ToString());
    outcome.verdict = IntakeVerdict::kRetry;
    outcome.reason = "storage error, retry later";
    return outcome;
  }
  if (landed->duplicate) {
    spdlog::info("duplicate batch_id={} agent_id={}", QuotedForLog(batch->batch_id),
                 QuotedForLog(batch->agent_id));
    outcome.verdict = IntakeVerdict::kDuplicate;
    return outcome;
  }
  spdlog::info("landed batch_id={} agent_id={} events={} window_results={}",
               QuotedForLog(batch->batch_id), QuotedForLog(batch->agent_id), landed->events,
               landed->window_results);
  TestExitAfterLandPoint();
  outcome.verdict = IntakeVerdict::kLanded;
  outcome.events = landed->events;
  outcome.window_results = landed->window_results;
  return outcome;
}

IntakeOutcome BatchIntake::MissingDictionary(const Status& status) {
  // Every agent of a fleet retries these with its backoff; the log sink rate-limits repeats.
  unknown_dictionary_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn(
      "batch not landed, the sender will retry it: {} (start the collector with "
      "--dictionary FILE)",
      status.message());
  IntakeOutcome outcome;
  outcome.verdict = IntakeVerdict::kRetry;
  outcome.retry_kind = RetryKind::kMissingDictionary;
  outcome.reason = status.message() + " by this collector, retry later";
  return outcome;
}

IntakeOutcome BatchIntake::Reject(RejectKind kind, std::string reason,
                                  const schema::DecodedBatch* batch) {
  if (kind == RejectKind::kForbidden) forbidden_.fetch_add(1, std::memory_order_relaxed);
  CountRejection(reason);
  IntakeOutcome outcome;
  outcome.verdict = IntakeVerdict::kRejected;
  outcome.reject_kind = kind;
  outcome.reason = std::move(reason);
  if (batch != nullptr) {
    outcome.batch_id = batch->batch_id;
    outcome.agent_id = batch->agent_id;
  }
  return outcome;
}

void BatchIntake::CountRejection(std::string_view reason) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("rejected batch reason={}", QuotedForLog(reason));
}

Result<IntakeCounts> BatchIntake::Counts() {
  IntakeCounts counts;
  TG_ASSIGN_OR_RETURN(counts.landed, store_.Counts());
  counts.rejected = rejected_.load(std::memory_order_relaxed);
  counts.forbidden = forbidden_.load(std::memory_order_relaxed);
  counts.unknown_dictionary = unknown_dictionary_.load(std::memory_order_relaxed);
  return counts;
}

}  // namespace tidegate::collector
