// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/field_decryptor.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

namespace tidegate::collector {
namespace {

// The end of a sealed-value token that starts at `begin` (just after its opening quote).
size_t SealedTokenEnd(const std::string& text, size_t begin) {
  size_t i = begin;
  while (i < text.size() && text[i] != '"' && text[i] != '\\') ++i;
  return i < text.size() && text[i] == '"' ? i : std::string::npos;
}

}  // namespace

Result<FieldDecryptor> FieldDecryptor::Load(const std::string& secret_key_path) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialize");
  struct stat st {};
  if (stat(secret_key_path.c_str(), &st) != 0) {
    return NotFound("cannot read recipient key " + secret_key_path);
  }
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument("recipient key " + secret_key_path +
                           " must not be readable by group or others (chmod 600)");
  }
  std::ifstream in(secret_key_path);
  std::stringstream text;
  text << in.rdbuf();
  auto sk = schema::ParseSecretKeyHex(text.str());
  if (!sk.ok()) return InvalidArgument(secret_key_path + ": " + sk.status().message());
  FieldDecryptor d;
  d.sk_ = *sk;
  crypto_scalarmult_base(d.pk_.data(), d.sk_.data());
  return d;
}

void FieldDecryptor::DecryptBatch(schema::DecodedBatch* batch) const {
  std::map<uint64_t, schema::DataKey> keys;
  for (const auto& sealed : batch->sealed_keys) {
    auto key = schema::OpenDataKey(sealed.sealed, pk_, sk_);
    if (key.ok()) keys[sealed.epoch] = *key;
  }
  for (auto& event : batch->events) {
    std::string& p = event.payload;
    for (size_t q = p.find("\"enc:"); q != std::string::npos; q = p.find("\"enc:", q + 1)) {
      if (q > 0 && p[q - 1] == '\\') continue;  // an escaped quote inside some other string
      size_t end = SealedTokenEnd(p, q + 1);
      if (end == std::string::npos) continue;
      std::string_view token(p.data() + q + 1, end - q - 1);
      uint64_t epoch = 0;
      auto key = schema::ParseSealedValueEpoch(token, &epoch) ? keys.find(epoch) : keys.end();
      auto plain = key == keys.end() ? Result<std::string>(Corruption("no key"))
                                     : schema::OpenSealedValue(token, key->second);
      if (!plain.ok()) {
        failed_->fetch_add(1);
        continue;
      }
      p.replace(q, end - q + 1, *plain);
      opened_->fetch_add(1);
      q += plain->size() - 1;
    }
  }
  for (auto& [epoch, key] : keys) sodium_memzero(key.data(), key.size());
}

}  // namespace tidegate::collector
