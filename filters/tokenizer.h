// SPDX-License-Identifier: Apache-2.0
// Tokenizer: keyed BLAKE2b (libsodium crypto_generichash, 32-byte key, 16-byte output) of a
// value's canonical UTF-8 text, rendered "tok:<key_id>:<base64url, no padding>". The same
// key and value always give the same token, so the cloud can count and join without the
// value. The keyed state is initialized once and copied per value. Not thread-safe (one per
// ingest thread); the key set must outlive it.
#pragma once

#include <sodium.h>

#include <string>
#include <string_view>

#include "filters/token_keys.h"

namespace tidegate::filters {

class Tokenizer {
 public:
  // Uses key (usually the key set's current key).
  explicit Tokenizer(const TokenKey& key);

  // Appends the token of canonical_text to *out.
  void AppendToken(std::string_view canonical_text, std::string* out) const;
  std::string Token(std::string_view canonical_text) const;

 private:
  std::string prefix_;  // "tok:<key_id>:"
  crypto_generichash_state keyed_state_;
};

}  // namespace tidegate::filters
