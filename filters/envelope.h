// SPDX-License-Identifier: Apache-2.0
// EnvelopeEncryptor: privacy `encrypt` without a public-key operation per value. A random
// data key per key epoch (a new one after privacy.key_epoch or key_epoch_max_values values)
// is sealed once to the recipient's public key; values are XChaCha20-Poly1305 under it, each
// with its number in the epoch as nonce (schema/sealed_value.h: 1-3 bytes on the wire instead
// of a random 24-byte nonce). The plain data key lives only in this object's memory (wiped on
// rotation and destruction); only its sealed form is stored, so the gateway cannot decrypt
// what it buffered. Not thread-safe: one per ingest thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/config.h"
#include "schema/sealed_value.h"

namespace tidegate::filters {

struct KeyEpoch {
  uint64_t epoch = 0;  // random, non-zero, names the data key in values and batches
  std::string sealed;  // crypto_box_seal(data key, recipient)
  int64_t created_at_ms = 0;
};

class EnvelopeEncryptor {
 public:
  // clock must outlive this object.
  EnvelopeEncryptor(const schema::PublicKey& recipient, Millis epoch_duration,
                    uint64_t epoch_max_values, Clock& clock);
  ~EnvelopeEncryptor();

  // Appends the sealed value of plaintext to *out. When a new epoch starts, *started gets
  // its sealed key: the caller must store it durably with (or before) the values it seals.
  void Seal(std::string_view plaintext, std::string* out, std::optional<KeyEpoch>* started);

  uint64_t current_epoch() const { return epoch_; }

 private:
  void StartEpoch(std::optional<KeyEpoch>* started);

  const schema::PublicKey recipient_;
  const Millis epoch_duration_;
  const uint64_t epoch_max_values_;
  Clock& clock_;
  schema::DataKey key_{};
  uint64_t epoch_ = 0;            // 0: no epoch yet
  uint64_t values_in_epoch_ = 0;  // also the next value's nonce counter
  std::chrono::steady_clock::time_point epoch_started_;
};

}  // namespace tidegate::filters
