// SPDX-License-Identifier: Apache-2.0
#include "schema/sealed_value.h"

#include <charconv>
#include <cstring>

#include "common/base64url.h"
#include "common/varint.h"

namespace tidegate::schema {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr int kB64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

constexpr std::string_view kAssociatedPrefix = "tidegate-enc-v1:";
constexpr std::string_view kCountedAssociatedPrefix = "tidegate-enc-v2:";
constexpr char kRandomNonceSeparator = ':';
constexpr char kCountedSeparator = '.';

std::string AssociatedData(std::string_view prefix, uint64_t epoch) {
  return std::string(prefix) + std::to_string(epoch);
}

// The nonce of a counted value: the counter little-endian, then zeros.
Nonce CountedNonce(uint64_t counter) {
  Nonce nonce{};
  for (size_t i = 0; i < sizeof counter; ++i) nonce[i] = static_cast<uint8_t>(counter >> (8 * i));
  return nonce;
}

// Splits "enc:<epoch><sep><b64>"; false if the shape is wrong. *counted: sep is '.'.
bool Split(std::string_view text, uint64_t* epoch, std::string_view* b64, bool* counted) {
  if (text.substr(0, kSealedValuePrefix.size()) != kSealedValuePrefix) return false;
  text.remove_prefix(kSealedValuePrefix.size());
  const size_t sep = text.find_first_of(":.");
  if (sep == std::string_view::npos || sep == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + sep, *epoch);
  if (ec != std::errc() || ptr != text.data() + sep) return false;
  *counted = text[sep] == kCountedSeparator;
  *b64 = text.substr(sep + 1);
  return !b64->empty();
}

// Appends "enc:<epoch><sep><base64url(head || sealed plaintext)>".
void AppendSealed(std::string_view prefix, char sep, uint64_t epoch, const DataKey& key,
                  const Nonce& nonce, std::string_view head, std::string_view plaintext,
                  std::string* out) {
  // head || ciphertext || tag, on the stack for the short values privacy rules usually name.
  constexpr size_t kStackPlaintext = 256;
  unsigned char stack[kNonceBytes + kStackPlaintext + kTagBytes];
  std::string heap;
  const size_t box_size = head.size() + plaintext.size() + kTagBytes;
  unsigned char* box = stack;
  if (plaintext.size() > kStackPlaintext) {
    heap.resize(box_size);
    box = reinterpret_cast<unsigned char*>(heap.data());
  }
  std::memcpy(box, head.data(), head.size());
  char ad[40];  // the form's 16-byte prefix and up to 20 digits of the epoch
  std::memcpy(ad, prefix.data(), prefix.size());
  const auto [ad_end, ec] = std::to_chars(ad + prefix.size(), ad + sizeof ad, epoch);
  (void)ec;  // 20 digits always fit
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      box + head.size(), &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(ad),
      static_cast<unsigned long long>(ad_end - ad), nullptr, nonce.data(), key.data());
  out->append(kSealedValuePrefix);
  out->append(ad + prefix.size(), static_cast<size_t>(ad_end - ad) - prefix.size());
  out->push_back(sep);
  AppendBase64Url(box, box_size, out);
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
  AppendSealed(kAssociatedPrefix, kRandomNonceSeparator, epoch, key, nonce,
               std::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()),
               plaintext, out);
}

void AppendCountedSealedValue(uint64_t epoch, const DataKey& key, uint64_t counter,
                              std::string_view plaintext, std::string* out) {
  std::string head;  // at most 10 bytes: no allocation
  PutVarint(counter, &head);
  AppendSealed(kCountedAssociatedPrefix, kCountedSeparator, epoch, key, CountedNonce(counter), head,
               plaintext, out);
}

bool ParseSealedValueEpoch(std::string_view text, uint64_t* epoch) {
  std::string_view b64;
  bool counted = false;
  return Split(text, epoch, &b64, &counted);
}

Result<std::string> OpenSealedValue(std::string_view text, const DataKey& key) {
  uint64_t epoch = 0;
  std::string_view b64;
  bool counted = false;
  if (!Split(text, &epoch, &b64, &counted)) return Corruption("not a sealed value");
  std::string box(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr, kB64) != 0) {
    return Corruption("sealed value is not valid base64url");
  }
  std::string_view rest(box.data(), len);
  Nonce nonce{};
  if (counted) {
    uint64_t counter = 0;
    if (!GetVarint(&rest, &counter)) return Corruption("sealed value has no valid counter");
    nonce = CountedNonce(counter);
  } else {
    if (rest.size() < kNonceBytes) return Corruption("sealed value is too short");
    std::memcpy(nonce.data(), rest.data(), kNonceBytes);
    rest.remove_prefix(kNonceBytes);
  }
  if (rest.size() < kTagBytes) return Corruption("sealed value is too short");
  std::string plain(rest.size() - kTagBytes, '\0');
  const std::string ad =
      AssociatedData(counted ? kCountedAssociatedPrefix : kAssociatedPrefix, epoch);
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plain_len, nullptr,
          reinterpret_cast<const unsigned char*>(rest.data()), rest.size(),
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce.data(),
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
