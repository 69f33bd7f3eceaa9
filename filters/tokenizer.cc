// SPDX-License-Identifier: Apache-2.0
#include "filters/tokenizer.h"

#include "common/base64url.h"

namespace tidegate::filters {
namespace {

constexpr size_t kTokenBytes = 16;

}  // namespace

Tokenizer::Tokenizer(const TokenKey& key) : prefix_("tok:" + key.id + ":") {
  if (sodium_init() < 0) std::abort();  // no usable randomness: nothing safe to do
  crypto_generichash_init(&keyed_state_, key.key.data(), key.key.size(), kTokenBytes);
}

void Tokenizer::AppendToken(std::string_view canonical_text, std::string* out) const {
  crypto_generichash_state state = keyed_state_;
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(canonical_text.data()),
                            canonical_text.size());
  unsigned char hash[kTokenBytes];
  crypto_generichash_final(&state, hash, sizeof hash);
  out->append(prefix_);
  AppendBase64Url(hash, sizeof hash, out);
}

std::string Tokenizer::Token(std::string_view canonical_text) const {
  std::string out;
  AppendToken(canonical_text, &out);
  return out;
}

}  // namespace tidegate::filters
