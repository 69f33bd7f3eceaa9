// SPDX-License-Identifier: Apache-2.0
// Fuzzes the encrypted-value format (schema/sealed_value.h) that a receiver opens: arbitrary
// text as a sealed value and as a key file, arbitrary bytes as a sealed data key. Invariants:
// no crash; forged values and keys are refused with kCorruption (or kInvalidArgument for a
// key file), never accepted; and the input as plaintext survives a seal/open round trip.
#include <sodium.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "schema/sealed_value.h"
#include "tests/support/seeded_randombytes.h"

namespace {

using namespace tidegate::schema;

// Nonces from a fixed sequence, restarted for every input: the same input takes the same path
// on every run, so CI's fixed-seed run gives one verdict.
using tidegate::testing::SeededRandombytes;

struct Keys {
  Keys() {
    if (!SeededRandombytes::Install() || sodium_init() < 0) {
      std::abort();
    }
    data_key.fill(7);  // fixed keys: one input, one path
    crypto_box_seed_keypair(pk.data(), sk.data(), data_key.data());
  }
  DataKey data_key{};
  PublicKey pk{};
  SecretKey sk{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Keys kKeys;
  SeededRandombytes::Restart();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  uint64_t epoch = 0;
  (void)ParseSealedValueEpoch(text, &epoch);  // only its bounds checks are under test here
  auto opened = OpenSealedValue(text, kKeys.data_key);
  // Forging a value that authenticates under a key the input never saw is infeasible.
  TG_FUZZ_CHECK(!opened.ok() && opened.status().code() == tidegate::StatusCode::kCorruption);

  auto data_key = OpenDataKey(text, kKeys.pk, kKeys.sk);
  TG_FUZZ_CHECK(!data_key.ok() && data_key.status().code() == tidegate::StatusCode::kCorruption);

  // Both key kinds are 32 bytes of hex: the same text is valid for both or for neither.
  static_assert(sizeof(PublicKey) == sizeof(SecretKey));
  TG_FUZZ_CHECK(ParsePublicKeyHex(text).ok() == ParseSecretKeyHex(text).ok());

  std::string sealed;
  AppendSealedValue(size, kKeys.data_key, text, &sealed);
  TG_FUZZ_CHECK(ParseSealedValueEpoch(sealed, &epoch) && epoch == size);
  auto round_trip = OpenSealedValue(sealed, kKeys.data_key);
  TG_FUZZ_CHECK(round_trip.ok() && *round_trip == text);

  // The counted form, with a counter taken from the input's size (every varint length).
  std::string counted;
  const uint64_t counter = uint64_t{size} * 0x9e3779b97f4a7c15ull >> (size % 64);
  AppendCountedSealedValue(size, kKeys.data_key, counter, text, &counted);
  TG_FUZZ_CHECK(ParseSealedValueEpoch(counted, &epoch) && epoch == size);
  auto counted_trip = OpenSealedValue(counted, kKeys.data_key);
  TG_FUZZ_CHECK(counted_trip.ok() && *counted_trip == text);
  return 0;
}
