// SPDX-License-Identifier: Apache-2.0
// BatchIntake: what every source (HTTPS, MQTT) does with a batch once its transport has
// received it, independent of the transport: decompress (bounded), verify, decode, check
// that the sender's verified identity names the batch's agent_id, open encrypted fields,
// keep the raw copy (serve --keep-raw) and land it in the store. The source maps the
// outcome to its reply (HTTP status, MQTT ack). Thread-safe: sources call it from several
// threads; the store and the archive are thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collector/intake/field_decryptor.h"
#include "collector/intake/raw_archive.h"
#include "collector/store/landing_store.h"
#include "common/status.h"
#include "schema/zstd_dictionary.h"

namespace tidegate::collector {

inline constexpr size_t kDefaultMaxBodyBytes = size_t{16} << 20;
inline constexpr size_t kDefaultMaxDecompressedBytes = size_t{64} << 20;

enum class IntakeVerdict {
  kLanded,     // committed in the store: acknowledge
  kDuplicate,  // this agent's batch id was landed before, nothing written: acknowledge
  kRejected,   // can never be accepted: tell the sender to give up (dead-letter) on it
  kRetry,      // not landed now, intact: nothing acknowledged, the sender should retry
};

// Why a batch is to be retried; HTTPS maps these to 500 and 503.
enum class RetryKind {
  kStorage,            // the store (or the --keep-raw copy) failed
  kMissingDictionary,  // the frame needs a zstd dictionary this collector was not given
};

// Why a batch was rejected; HTTPS maps these to 413, 400 and 403.
enum class RejectKind {
  kTooLarge,   // the compressed body exceeds max_body_bytes
  kInvalid,    // not decompressible, not a batch, a newer schema, batch id mismatch
  kForbidden,  // the sender's verified identity does not name the batch's agent_id
};

struct IntakeOutcome {
  IntakeVerdict verdict = IntakeVerdict::kRetry;
  RejectKind reject_kind = RejectKind::kInvalid;  // meaningful for kRejected only
  RetryKind retry_kind = RetryKind::kStorage;     // meaningful for kRetry only
  // For kRejected and kRetry: a reason for the sender, never payload bytes (it may hold
  // ids from the batch; the source escapes it).
  std::string reason;
  std::string batch_id;  // as decoded; empty if the body could not be decoded
  std::string agent_id;
  size_t events = 0;  // landed (0 unless kLanded)
  size_t window_results = 0;
};

// In-memory rejection counts (since this process started) plus the store's counters.
struct IntakeCounts {
  LandingCounts landed;
  int64_t rejected = 0;   // every rejection, including those a source decided itself
  int64_t forbidden = 0;  // of those, kForbidden
  // Bodies that need a zstd dictionary this collector was not given (serve --dictionary):
  // answered with a retry, not counted as rejected, since the batch is intact and lands once
  // the collector has the agent's uplink.compression.dictionary.
  int64_t unknown_dictionary = 0;
};

class BatchIntake {
 public:
  struct Limits {
    // Largest compressed body accepted: bounds memory per batch in flight.
    size_t max_body_bytes = kDefaultMaxBodyBytes;
    // Largest decompressed batch accepted: the zip-bomb bound.
    size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes;
  };

  // `store`, `raw`, `decryptor` and `dictionaries` (null: not used) must outlive the intake.
  // With `raw`, every body within max_body_bytes is kept as received before it is decoded; a
  // body that cannot be kept is a kRetry (an audit copy must not silently miss batches). A
  // frame naming a dictionary that is not in `dictionaries` is a kRetry (kMissingDictionary):
  // the batch is intact and this collector's configuration is what is missing (a dictionary
  // rolled out to agents before collectors), so the agent keeps it and sends it again, with
  // its backoff, rather than dead-lettering data that could land.
  BatchIntake(LandingStore& store, Limits limits, const RawArchive* raw = nullptr,
              const FieldDecryptor* decryptor = nullptr,
              const schema::DictionarySet* dictionaries = nullptr);

  // Processes one compressed batch. claimed_batch_id: the id the transport announced
  // (Idempotency-Key, MQTT user property); it must equal the batch_id in the body.
  // identities: the names of the sender's verified certificate (or MQTT credentials); a
  // batch whose agent_id is not among them is kRejected/kForbidden. Null: not checked.
  IntakeOutcome Accept(std::string_view claimed_batch_id, std::string_view compressed,
                       const std::vector<std::string>* identities = nullptr);

  // Counts (and logs) a rejection a source decided before calling Accept, e.g. a wrong
  // Content-Type. `reason` must not contain payload bytes.
  void CountRejection(std::string_view reason);

  Result<IntakeCounts> Counts();

  const Limits& limits() const { return limits_; }

 private:
  IntakeOutcome Reject(RejectKind kind, std::string reason, const schema::DecodedBatch* batch);
  // A frame naming a dictionary this collector lacks: a counted kRetry.
  IntakeOutcome MissingDictionary(const Status& status);

  LandingStore& store_;
  const Limits limits_;
  const RawArchive* raw_;                       // null unless --keep-raw
  const FieldDecryptor* decryptor_;             // null unless --recipient-key
  const schema::DictionarySet* dictionaries_;   // null unless --dictionary
  std::atomic<int64_t> rejected_{0};            // since this process started
  std::atomic<int64_t> forbidden_{0};           // of those, kForbidden
  std::atomic<int64_t> unknown_dictionary_{0};  // retries for a dictionary not loaded
};

// An id or reason from the network, JSON-quoted and escaped so it cannot forge log lines;
// "<invalid utf-8>" if it is not UTF-8.
std::string QuotedForLog(std::string_view text);

}  // namespace tidegate::collector
