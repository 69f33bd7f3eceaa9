// SPDX-License-Identifier: Apache-2.0
#include "schema/sealed_value.h"

#include <catch2/catch.hpp>

using namespace tidegate::schema;

// The earlier form, with a random nonce in the value: what buffers of earlier releases hold.
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

TEST_CASE("a counted sealed value opens only with its key, epoch, counter and form", "[schema]") {
  REQUIRE(sodium_init() >= 0);
  DataKey key{}, other{};
  randombytes_buf(key.data(), key.size());
  randombytes_buf(other.data(), other.size());
  const std::string plain = R"("+1 415 555 0134")";
  for (const uint64_t counter :
       {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 40, ~uint64_t{0}}) {
    INFO("counter " << counter);
    std::string sealed;
    AppendCountedSealedValue(77, key, counter, plain, &sealed);
    CHECK(sealed.rfind("enc:77.", 0) == 0);
    uint64_t epoch = 0;
    REQUIRE(ParseSealedValueEpoch(sealed, &epoch));
    CHECK(epoch == 77);
    auto opened = OpenSealedValue(sealed, key);
    REQUIRE(opened.ok());
    CHECK(*opened == plain);
    CHECK_FALSE(OpenSealedValue(sealed, other).ok());
    std::string tampered = sealed;
    tampered.replace(4, 2, "78");  // another epoch
    CHECK_FALSE(OpenSealedValue(tampered, key).ok());
    tampered = sealed;
    tampered[6] = ':';  // read as the random-nonce form
    CHECK_FALSE(OpenSealedValue(tampered, key).ok());
  }
  // Another counter under the same key is another nonce: the box does not open as its own.
  std::string a, b;
  AppendCountedSealedValue(77, key, 1, plain, &a);
  AppendCountedSealedValue(77, key, 2, plain, &b);
  CHECK(a != b);
  std::string swapped = b.substr(0, 7) + a.substr(7, 2) + b.substr(9);  // counter 1's first byte
  CHECK_FALSE(OpenSealedValue(swapped, key).ok());
  CHECK_FALSE(OpenSealedValue("enc:1.", key).ok());
  CHECK_FALSE(OpenSealedValue("enc:1.gA", key).ok());  // a counter cut short, no box
}

// Computed outside this code, with libsodium in C: key bytes 0..31, epoch 42, counter 300
// (varint ac 02, nonce 2c 01 00..), associated data "tidegate-enc-v2:42".
TEST_CASE("the counted form matches a vector computed with libsodium directly", "[schema]") {
  REQUIRE(sodium_init() >= 0);
  DataKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  std::string sealed;
  AppendCountedSealedValue(42, key, 300, R"("+1 415 555 0134")", &sealed);
  CHECK(sealed == "enc:42.rAIwEYw53y3_8LcGTsJ6jy0cKgE2er1HyyvLz30RcrKdCUs");
  // 2 bytes of counter, 17 of ciphertext, 16 of tag: 47 base64url characters, where the
  // random-nonce form takes 76.
  CHECK(sealed.size() == std::string("enc:42.").size() + 47);
  std::string earlier;
  AppendSealedValue(42, key, R"("+1 415 555 0134")", &earlier);
  CHECK(earlier.size() == std::string("enc:42:").size() + 76);
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
