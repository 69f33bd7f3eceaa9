// SPDX-License-Identifier: Apache-2.0
#include "common/base64url.h"

namespace tidegate {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

void AppendBase64Url(const uint8_t* data, size_t n, std::string* out) {
  const size_t at = out->size();
  out->resize(at + Base64UrlLength(n));
  char* o = out->data() + at;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    *o++ = kAlphabet[v >> 18];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = kAlphabet[v & 63];
  }
  if (n - i == 1) {
    *o++ = kAlphabet[data[i] >> 2];
    *o++ = kAlphabet[(data[i] & 3) << 4];
  } else if (n - i == 2) {
    const uint32_t v = uint32_t{data[i]} << 8 | data[i + 1];
    *o++ = kAlphabet[v >> 10];
    *o++ = kAlphabet[(v >> 4) & 63];
    *o++ = kAlphabet[(v & 15) << 2];
  }
}

}  // namespace tidegate
