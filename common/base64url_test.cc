// SPDX-License-Identifier: Apache-2.0
#include "common/base64url.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <random>
#include <vector>

namespace tidegate {
namespace {

std::string Sodium(const std::vector<uint8_t>& bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), kVariant);
  out.pop_back();  // the NUL
  return out;
}

TEST_CASE("base64url matches the RFC 4648 test vectors", "[common]") {
  auto encode = [](std::string_view text) {
    std::string out = "x";  // appends
    AppendBase64Url(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &out);
    return out.substr(1);
  };
  CHECK(encode("") == "");
  CHECK(encode("f") == "Zg");
  CHECK(encode("fo") == "Zm8");
  CHECK(encode("foo") == "Zm9v");
  CHECK(encode("foob") == "Zm9vYg");
  CHECK(encode("fooba") == "Zm9vYmE");
  CHECK(encode("foobar") == "Zm9vYmFy");
  CHECK(encode("\xfb\xff") == "-_8");  // the url-safe characters
}

TEST_CASE("base64url writes what libsodium's url-safe encoder writes", "[common]") {
  REQUIRE(sodium_init() >= 0);
  const uint32_t seed = 20261206;
  std::printf("base64url: seed %u\n", seed);
  std::mt19937 rng(seed);
  for (size_t n = 0; n <= 300; ++n) {
    for (int round = 0; round < 20; ++round) {
      std::vector<uint8_t> bytes(n);
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      std::string ours;
      AppendBase64Url(bytes.data(), bytes.size(), &ours);
      INFO("n=" << n);
      REQUIRE(ours == Sodium(bytes));
      REQUIRE(ours.size() == Base64UrlLength(n));
    }
  }
}

}  // namespace
}  // namespace tidegate
