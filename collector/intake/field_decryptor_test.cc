// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/field_decryptor.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using tidegate::collector::FieldDecryptor;
namespace schema = tidegate::schema;

TEST_CASE("encrypted fields are opened with the recipient key, others stay opaque", "[collector]") {
  REQUIRE(sodium_init() >= 0);
  schema::PublicKey pk{};
  schema::SecretKey sk{};
  crypto_box_keypair(pk.data(), sk.data());
  char tmpl[] = "/tmp/tg-dec-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/recipient.key";
  char hex[sizeof sk * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, sk.data(), sk.size());
  std::ofstream(path) << "# secret\n" << hex << "\n";
  REQUIRE(chmod(path.c_str(), 0600) == 0);
  auto decryptor = FieldDecryptor::Load(path);
  REQUIRE(decryptor.ok());

  schema::DataKey key{};
  randombytes_buf(key.data(), key.size());
  std::string good, counted, unknown_epoch;
  // The earlier random-nonce form (a buffer from before the upgrade) beside the counted one.
  schema::AppendSealedValue(5, key, R"({"phone":"020 7946 0958"})", &good);
  schema::AppendCountedSealedValue(5, key, 7, R"("+1 415 555 0134")", &counted);
  schema::AppendSealedValue(6, key, R"("x")", &unknown_epoch);
  schema::DecodedBatch batch;
  batch.sealed_keys.push_back({.epoch = 5, .sealed = schema::SealDataKey(key, pk)});
  schema::DecodedEvent event;
  event.payload = R"({"a":")" + good + R"(","b":")" + unknown_epoch + R"(","c":"enc:nope","d":")" +
                  counted + R"("})";
  batch.events.push_back(event);
  decryptor->DecryptBatch(&batch);
  CHECK(batch.events[0].payload == R"({"a":{"phone":"020 7946 0958"},"b":")" + unknown_epoch +
                                       R"(","c":"enc:nope","d":"+1 415 555 0134"})");
  CHECK(decryptor->opened() == 2);
  CHECK(decryptor->failed() == 2);

  REQUIRE(chmod(path.c_str(), 0644) == 0);
  CHECK_FALSE(FieldDecryptor::Load(path).ok());
  std::filesystem::remove_all(dir);
}
