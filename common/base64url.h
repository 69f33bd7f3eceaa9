// SPDX-License-Identifier: Apache-2.0
// Base64url without padding (RFC 4648 section 5), the text form of tokens and sealed values.
// Byte for byte what libsodium's sodium_bin2base64 writes with
// sodium_base64_VARIANT_URLSAFE_NO_PADDING, at table speed: libsodium's encoder is
// constant-time (for secrets), several times slower, and it ran on every tokenized and
// encrypted value; what is encoded here (hashes and ciphertext) is public.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tidegate {

// The length of the encoding of n bytes.
constexpr size_t Base64UrlLength(size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

// Appends the encoding of data[0, n) to *out.
void AppendBase64Url(const uint8_t* data, size_t n, std::string* out);

}  // namespace tidegate
