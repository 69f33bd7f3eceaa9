// SPDX-License-Identifier: Apache-2.0
// Fuzzes the remote-config bundle parser (remote/bundle.h), which reads bytes from the
// network before anything is verified. Invariants: no crash; a bundle that parses serializes
// to a bundle that parses to the same value; and the signature check under a fixed key gives
// the same answer for both (the seeds hold bundles signed with the documented test-vector key).
#include <sodium.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "remote/bundle.h"

namespace {

using namespace tidegate::remote;

// The test-vector key of docs/remote-config.md (seed 00 01 .. 1f).
SigningPublicKey VectorPublicKey() {
  if (sodium_init() < 0) std::abort();
  unsigned char seed[crypto_sign_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; ++i) seed[i] = static_cast<unsigned char>(i);
  SigningPublicKey pk{};
  SigningSecretKey sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed);
  return pk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const SigningPublicKey kKey = VectorPublicKey();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bundle = ParseBundle(text);
  if (!bundle.ok()) {
    TG_FUZZ_CHECK(bundle.status().code() == tidegate::StatusCode::kInvalidArgument ||
                  bundle.status().code() == tidegate::StatusCode::kResourceExhausted);
    return 0;
  }
  TG_FUZZ_CHECK(IsBundleAgentId(bundle->agent_id));
  TG_FUZZ_CHECK(bundle->version >= 1 && bundle->version <= kMaxBundleVersion);
  auto again = ParseBundle(SerializeBundle(*bundle));
  TG_FUZZ_CHECK(again.ok() && *again == *bundle);
  TG_FUZZ_CHECK(VerifyBundleSignature(*bundle, kKey) == VerifyBundleSignature(*again, kKey));
  return 0;
}
