// SPDX-License-Identifier: Apache-2.0
#include "schema/sealed_value.h"

#include <catch2/catch.hpp>

using namespace tidegate::schema;

TEST_CASE("a sealed value opens only with its data key", "[schema]") {
  REQUIRE(sodium_init() >= 0);
  DataKey key{}, other{};
  randombytes_buf(key.data(), key.size());
  randombytes_buf(other.data(), other.size());
  std::string sealed;
  AppendSealedValue(77, key, R"("alice@example.com")", &sealed);
  CHECK(sealed.rfind("enc:77:", 0) == 0);
  CHECK(sealed.find("alice") == std::string::npos);
  uint64_t epoch = 0;
  REQUIRE(ParseSealedValueEpoch(sealed, &epoch));
  CHECK(epoch == 77);
  auto opened = OpenSealedValue(sealed, key);
  REQUIRE(opened.ok());
  CHECK(*opened == R"("alice@example.com")");
  CHECK_FALSE(OpenSealedValue(sealed, other).ok());
  std::string tampered = sealed;
  tampered.replace(4, 2, "78");  // another epoch: the associated data no longer matches
  CHECK_FALSE(OpenSealedValue(tampered, key).ok());
  CHECK_FALSE(OpenSealedValue("enc:1:!!!", key).ok());
  CHECK_FALSE(ParseSealedValueEpoch("tok:k1:abc", &epoch));
}

TEST_CASE("a data key sealed to a recipient opens with its key pair", "[schema]") {
  REQUIRE(sodium_init() >= 0);
  PublicKey pk{};
  SecretKey sk{};
  crypto_box_keypair(pk.data(), sk.data());
  DataKey key{};
  randombytes_buf(key.data(), key.size());
  std::string sealed = SealDataKey(key, pk);
  auto opened = OpenDataKey(sealed, pk, sk);
  REQUIRE(opened.ok());
  CHECK(*opened == key);
  PublicKey pk2{};
  SecretKey sk2{};
  crypto_box_keypair(pk2.data(), sk2.data());
  CHECK_FALSE(OpenDataKey(sealed, pk2, sk2).ok());
  CHECK_FALSE(OpenDataKey("short", pk, sk).ok());
}

TEST_CASE("hex key files parse with comments and reject bad lengths", "[schema]") {
  std::string hex(64, 'a');
  CHECK(ParsePublicKeyHex("# recipient\n" + hex + "\n").ok());
  CHECK_FALSE(ParsePublicKeyHex(hex.substr(2)).ok());
  CHECK_FALSE(ParseSecretKeyHex("zz").ok());
}
