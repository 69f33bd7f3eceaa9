// SPDX-License-Identifier: Apache-2.0
#include "schema/sealed_value.h"

#include <charconv>
#include <cstring>

#include "common/base64url.h"

namespace tidegate::schema {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr int kB64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

constexpr std::string_view kAssociatedPrefix = "tidegate-enc-v1:";

std::string AssociatedData(uint64_t epoch) {
  return std::string(kAssociatedPrefix) + std::to_string(epoch);
}

// Splits "enc:<epoch>:<b64>"; false if the shape is wrong.
bool Split(std::string_view text, uint64_t* epoch, std::string_view* b64) {
  if (text.substr(0, kSealedValuePrefix.size()) != kSealedValuePrefix) return false;
  text.remove_prefix(kSealedValuePrefix.size());
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + colon, *epoch);
  if (ec != std::errc() || ptr != text.data() + colon) return false;
  *b64 = text.substr(colon + 1);
  return !b64->empty();
}

template <size_t N>
Result<std::array<uint8_t, N>> ParseHexKey(std::string_view text, const char* what) {
  std::string hex;
  bool comment = false;
  for (char c : text) {
    if (c == '#') comment = true;
    if (c == '\n') comment = false;
    if (!comment && std::isxdigit(static_cast<unsigned char>(c))) hex.push_back(c);
  }
  std::array<uint8_t, N> key{};
  size_t len = 0;
  if (hex.size() != N * 2 ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != N) {
    return InvalidArgument(std::string(what) + " must be " + std::to_string(N * 2) +
                           " hex characters");
  }
  return key;
}

}  // namespace

void AppendSealedValue(uint64_t epoch, const DataKey& key, std::string_view plaintext,
                       std::string* out) {
  Nonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  AppendSealedValue(epoch, key, nonce, plaintext, out);
}

void AppendSealedValue(uint64_t epoch, const DataKey& key, const Nonce& nonce,
                       std::string_view plaintext, std::string* out) {
  // nonce || ciphertext || tag, on the stack for the short values privacy rules usually name.
  constexpr size_t kStackPlaintext = 256;
  unsigned char stack[kNonceBytes + kStackPlaintext + kTagBytes];
  std::string heap;
  const size_t box_size = kNonceBytes + plaintext.size() + kTagBytes;
  unsigned char* box = stack;
  if (plaintext.size() > kStackPlaintext) {
    heap.resize(box_size);
    box = reinterpret_cast<unsigned char*>(heap.data());
  }
  std::memcpy(box, nonce.data(), kNonceBytes);
  char ad[kAssociatedPrefix.size() + 20];
  std::memcpy(ad, kAssociatedPrefix.data(), kAssociatedPrefix.size());
  const auto [ad_end, ec] = std::to_chars(ad + kAssociatedPrefix.size(), ad + sizeof ad, epoch);
  (void)ec;  // 20 digits always fit a uint64_t
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      box + kNonceBytes, &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(ad),
      static_cast<unsigned long long>(ad_end - ad), nullptr, nonce.data(), key.data());
  out->append(kSealedValuePrefix);
  const char* digits = ad + kAssociatedPrefix.size();
  out->append(digits, static_cast<size_t>(ad_end - digits));
  out->push_back(':');
  AppendBase64Url(box, box_size, out);
}

bool ParseSealedValueEpoch(std::string_view text, uint64_t* epoch) {
  std::string_view b64;
  return Split(text, epoch, &b64);
}

Result<std::string> OpenSealedValue(std::string_view text, const DataKey& key) {
  uint64_t epoch = 0;
  std::string_view b64;
  if (!Split(text, &epoch, &b64)) return Corruption("not a sealed value");
  std::string box(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr, kB64) != 0 ||
      len < kNonceBytes + kTagBytes) {
    return Corruption("sealed value is not valid base64url");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(box.data());
  std::string plain(len - kNonceBytes - kTagBytes, '\0');
  std::string ad = AssociatedData(epoch);
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plain_len, nullptr, bytes + kNonceBytes,
          len - kNonceBytes, reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), bytes,
          key.data()) != 0) {
    return Corruption("sealed value does not authenticate under epoch " + std::to_string(epoch));
  }
  plain.resize(plain_len);
  return plain;
}

std::string SealDataKey(const DataKey& key, const PublicKey& recipient) {
  std::string sealed(crypto_box_SEALBYTES + key.size(), '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()), key.data(), key.size(),
                  recipient.data());
  return sealed;
}

Result<DataKey> OpenDataKey(std::string_view sealed, const PublicKey& pk, const SecretKey& sk) {
  DataKey key{};
  if (sealed.size() != crypto_box_SEALBYTES + key.size() ||
      crypto_box_seal_open(key.data(), reinterpret_cast<const unsigned char*>(sealed.data()),
                           sealed.size(), pk.data(), sk.data()) != 0) {
    return Corruption("sealed data key does not open with this recipient key");
  }
  return key;
}

Result<PublicKey> ParsePublicKeyHex(std::string_view text) {
  return ParseHexKey<crypto_box_PUBLICKEYBYTES>(text, "a public key");
}

Result<SecretKey> ParseSecretKeyHex(std::string_view text) {
  return ParseHexKey<crypto_box_SECRETKEYBYTES>(text, "a secret key");
}

}  // namespace tidegate::schema
