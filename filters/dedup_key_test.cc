// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_key.h"

#include <catch2/catch.hpp>

using tidegate::filters::DedupHasher;
using tidegate::filters::DedupHashKey;
using tidegate::filters::LegacyDedupKey;

namespace {

DedupHashKey CountingKey() {
  DedupHashKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}

}  // namespace

TEST_CASE("dedup keys follow the id when there is one, else the content", "[filters][dedup]") {
  DedupHasher h(CountingKey());
  CHECK(h.Key("d1", "m1", "t", "{\"a\":1}") == h.Key("d1", "m1", "t2", "{\"a\":2}"));
  CHECK(h.Key("d1", "m1", "t", "x") != h.Key("d2", "m1", "t", "x"));
  CHECK(h.Key("d1", "", "t", "x") == h.Key("d9", "", "t", "x"));
  CHECK(h.Key("d1", "", "t", "x") != h.Key("d1", "", "t", "y"));
  CHECK(h.Key("d1", "", "t", "x") != 0);
  // The parts cannot run into each other.
  CHECK(h.Key("d1", "", "ab", "c") != h.Key("d1", "", "a", "bc"));
}

TEST_CASE("dedup keys are SipHash-2-4 under the buffer's key and never change for an input",
          "[filters][dedup]") {
  // Buffers store these keys: a release that hashed differently would forget the window.
  // Expected values from libsodium's crypto_shorthash_siphash24 over "id\0dev\0id\0" and
  // "content\0topic\0payload\0", masked to 63 bits, computed outside this code.
  DedupHasher h(CountingKey());
  CHECK(h.Key("dev-0010", "b28adbf7f1fde1b0", "t", "x") == 5722200148394121395ull);
  CHECK(h.Key("dev-0010", "", "devices/dev-0010/telemetry", "{\"a\":1}") == 7322180423396257636ull);
  DedupHashKey other = CountingKey();
  other[0] ^= 1;
  CHECK(DedupHasher(other).Key("dev-0010", "b28adbf7f1fde1b0", "t", "x") != 5722200148394121395ull);
}

TEST_CASE("legacy dedup keys are those earlier releases stored", "[filters][dedup]") {
  // BLAKE2b-64 keyed with "tidegate ingest dedup key v1", computed with Python's hashlib.
  CHECK(LegacyDedupKey("dev-0010", "b28adbf7f1fde1b0", "t", "x") == 5520078619078215442ull);
  CHECK(LegacyDedupKey("dev-0010", "", "devices/dev-0010/telemetry", "{\"a\":1}") ==
        4634106043358164799ull);
}
