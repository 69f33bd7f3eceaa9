// SPDX-License-Identifier: Apache-2.0
#include "filters/envelope.h"

namespace tidegate::filters {

EnvelopeEncryptor::EnvelopeEncryptor(const schema::PublicKey& recipient, Millis epoch_duration,
                                     uint64_t epoch_max_values, Clock& clock)
    : recipient_(recipient),
      epoch_duration_(epoch_duration),
      epoch_max_values_(epoch_max_values),
      clock_(clock) {
  if (sodium_init() < 0) std::abort();  // no usable randomness: nothing safe to do
}

EnvelopeEncryptor::~EnvelopeEncryptor() { sodium_memzero(key_.data(), key_.size()); }

void EnvelopeEncryptor::StartEpoch(std::optional<KeyEpoch>* started) {
  randombytes_buf(key_.data(), key_.size());
  do {
    randombytes_buf(&epoch_, sizeof epoch_);
    epoch_ &= (1ull << 53) - 1;  // stays exact where receivers parse it as a JSON number
  } while (epoch_ == 0);
  values_in_epoch_ = 0;
  epoch_started_ = clock_.Monotonic();
  *started = KeyEpoch{.epoch = epoch_,
                      .sealed = schema::SealDataKey(key_, recipient_),
                      .created_at_ms = clock_.NowUnixMs()};
}

void EnvelopeEncryptor::Seal(std::string_view plaintext, std::string* out,
                             std::optional<KeyEpoch>* started) {
  if (epoch_ == 0 || values_in_epoch_ >= epoch_max_values_ ||
      clock_.Monotonic() - epoch_started_ >= epoch_duration_) {
    StartEpoch(started);
  }
  // The value's number in its epoch is its nonce: unique under this epoch's key, which is
  // random, lives only in this object and is replaced (counting from 0 again) by StartEpoch.
  schema::AppendCountedSealedValue(epoch_, key_, values_in_epoch_++, plaintext, out);
}

}  // namespace tidegate::filters
