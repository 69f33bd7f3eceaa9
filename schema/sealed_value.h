// SPDX-License-Identifier: Apache-2.0
// The wire format of encrypted field values (privacy `encrypt`), shared by the agent that
// seals and the receiver that opens them. Envelope encryption: a random 32-byte data key per
// key epoch is sealed once to the receiver's X25519 public key (crypto_box_seal) and travels
// in Batch.sealed_keys; each value is XChaCha20-Poly1305 under that data key, a JSON string
// whose plaintext is the value's JSON text (so its type survives), in one of two forms:
// - "enc:<epoch>.<base64url(varint counter || ciphertext)>" (what agents write): the nonce is
//   the value's counter within its epoch (little-endian, then zeros), which the agent never
//   repeats under one data key; a new epoch has a new random key and counts from 0. 1 to 3
//   bytes on the wire instead of 24.
// - "enc:<epoch>:<base64url(nonce || ciphertext)>" (earlier releases): a random 24-byte nonce.
// '.' and ':' are outside base64url, so the separator tells the forms apart; associated data
// binds the epoch and the form. Pure functions, thread-safe.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::schema {

using DataKey = std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;
using PublicKey = std::array<uint8_t, crypto_box_PUBLICKEYBYTES>;
using SecretKey = std::array<uint8_t, crypto_box_SECRETKEYBYTES>;
using Nonce = std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>;

inline constexpr std::string_view kSealedValuePrefix = "enc:";

// Appends "enc:<epoch>.<base64url>" for plaintext to *out under the nonce of `counter`. The
// caller must never pass the same counter twice with one key (EnvelopeEncryptor counts the
// values of an epoch, whose key is random and used by nothing else).
void AppendCountedSealedValue(uint64_t epoch, const DataKey& key, uint64_t counter,
                              std::string_view plaintext, std::string* out);

// Appends the earlier form "enc:<epoch>:<base64url>" under a fresh random nonce (kept to test
// that receivers still open what earlier agents buffered).
void AppendSealedValue(uint64_t epoch, const DataKey& key, std::string_view plaintext,
                       std::string* out);
// The same under a nonce the caller drew at random and never uses again with this key (the
// agent draws them in bulk: one getrandom call per many values instead of one per value).
void AppendSealedValue(uint64_t epoch, const DataKey& key, const Nonce& nonce,
                       std::string_view plaintext, std::string* out);

// True if text has the shape of a sealed value; *epoch receives its epoch.
bool ParseSealedValueEpoch(std::string_view text, uint64_t* epoch);

// Opens a sealed value of either form with its epoch's data key. kCorruption if it does not
// authenticate.
Result<std::string> OpenSealedValue(std::string_view text, const DataKey& key);

// crypto_box_seal of the data key to the recipient.
std::string SealDataKey(const DataKey& key, const PublicKey& recipient);
// Opens a sealed data key with the recipient's key pair. kCorruption on failure.
Result<DataKey> OpenDataKey(std::string_view sealed, const PublicKey& pk, const SecretKey& sk);

// Key files of `tidegate keys init`: 64 hex characters (whitespace and '#' comments ignored).
Result<PublicKey> ParsePublicKeyHex(std::string_view text);
Result<SecretKey> ParseSecretKeyHex(std::string_view text);

}  // namespace tidegate::schema
