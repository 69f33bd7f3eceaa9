// SPDX-License-Identifier: Apache-2.0
#include "remote/bundle.h"

#include <sodium.h>

#include <catch2/catch.hpp>

namespace tidegate::remote {
namespace {

// The key of the test vector in docs/remote-config.md: the Ed25519 key pair of the seed
// 00 01 02 .. 1f.
SigningSecretKey VectorKey(SigningPublicKey* pk = nullptr) {
  REQUIRE(sodium_init() >= 0);
  unsigned char seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; ++i) seed[i] = static_cast<unsigned char>(i);
  SigningPublicKey public_key{};
  SigningSecretKey secret_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed);
  if (pk != nullptr) *pk = public_key;
  return secret_key;
}

std::string Hex(std::string_view bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  hex.pop_back();
  return hex;
}

}  // namespace

TEST_CASE("the canonical signing bytes are the documented layout", "[remote]") {
  const std::string bytes = CanonicalSigningBytes("gw-1", 7, "a: 1\n");
  CHECK(Hex(bytes) == Hex("tidegate-config-bundle-v1\n") + "00000004" + Hex("gw-1") +
                          "0000000000000007" + "00000005" + Hex("a: 1\n"));
}

TEST_CASE("the signing test vector matches docs/remote-config.md", "[remote]") {
  SigningPublicKey pk{};
  const SigningSecretKey sk = VectorKey(&pk);
  CHECK(Hex(std::string_view(reinterpret_cast<const char*>(pk.data()), pk.size())) ==
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  const Bundle bundle = SignBundle("gw-1", 7, "agent:\n  id: gw-1\n", sk);
  const std::string signature(reinterpret_cast<const char*>(bundle.signature.data()),
                              bundle.signature.size());
  CHECK(Hex(signature) ==
        "937ec04e03b68bff8cafeea7644f671cd055e2ea62cf35997049407f0018f529"
        "a6d307289bf384dac591dad4d8449415facf4c3d76c09b766faa284d62f9a204");
  CHECK(VerifyBundleSignature(bundle, pk));
}

TEST_CASE("a serialized bundle parses back and verifies", "[remote]") {
  SigningPublicKey pk{};
  const Bundle bundle = SignBundle("*", 1, "x: \"quoted\\n\"\n\u00e9\n", VectorKey(&pk));
  auto parsed = ParseBundle(SerializeBundle(bundle));
  REQUIRE(parsed.ok());
  CHECK(*parsed == bundle);
  CHECK(VerifyBundleSignature(*parsed, pk));
  SECTION("any changed field breaks the signature") {
    Bundle changed = *parsed;
    changed.version = 2;
    CHECK_FALSE(VerifyBundleSignature(changed, pk));
    changed = *parsed;
    changed.agent_id = "gw-1";
    CHECK_FALSE(VerifyBundleSignature(changed, pk));
    changed = *parsed;
    changed.config += " ";
    CHECK_FALSE(VerifyBundleSignature(changed, pk));
  }
}

TEST_CASE("ParseBundle refuses anything but the four well-formed members", "[remote]") {
  const Bundle good = SignBundle("gw-1", 3, "c", VectorKey());
  const std::string sig = SerializeBundle(good).substr(SerializeBundle(good).find("\"signature\""));
  auto parse = [&](const std::string& json) { return ParseBundle(json).status(); };
  const std::string head = R"({"agent_id":"gw-1","version":3,"config":"c",)";
  CHECK(parse(head + sig).ok());
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({"agent_id":"gw-1","version":3,"config":"c"})",
      head + R"("extra":1,)" + sig,
      head + R"("config":"d",)" + sig,
      R"({"agent_id":"gw 1","version":3,"config":"c",)" + sig,
      R"({"agent_id":"","version":3,"config":"c",)" + sig,
      R"({"agent_id":"gw-1","version":0,"config":"c",)" + sig,
      R"({"agent_id":"gw-1","version":9007199254740993,"config":"c",)" + sig,
      R"({"agent_id":"gw-1","version":3.5,"config":"c",)" + sig,
      R"({"agent_id":"gw-1","version":"3","config":"c",)" + sig,
      R"({"agent_id":"gw-1","version":3,"config":1,)" + sig,
      head + R"("signature":"AAAA"})",
      head + R"("signature":"not base64!"})",
  };
  for (const std::string& json : bad) {
    INFO(json);
    const Status status = parse(json);
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message().rfind("malformed: ", 0) == 0);
  }
  CHECK(parse(R"({"agent_id":"gw-1","version":9007199254740992,"config":"c",)" + sig).ok());
}

TEST_CASE("ParseBundle refuses a bundle over 1 MiB before parsing it", "[remote]") {
  const std::string big(kMaxBundleBytes + 1, ' ');
  const Status status = ParseBundle(big).status();
  CHECK(status.code() == StatusCode::kResourceExhausted);
  CHECK(status.message() == "too_large");
}

TEST_CASE("signing key files are read as keys init writes them", "[remote]") {
  CHECK(ParseSigningPublicKey("# c\n" + std::string(64, 'a') + "\n").ok());
  CHECK(ParseSigningSecretKey("# c\n" + std::string(128, 'b') + "\n").ok());
  CHECK_FALSE(ParseSigningPublicKey(std::string(128, 'a')).ok());
  CHECK_FALSE(ParseSigningPublicKey(std::string(63, 'a')).ok());
  CHECK_FALSE(ParseSigningPublicKey(std::string(64, 'a') + "\n" + std::string(64, 'a')).ok());
  CHECK_FALSE(ParseSigningPublicKey(std::string(62, 'a') + "zz").ok());
}

}  // namespace tidegate::remote
