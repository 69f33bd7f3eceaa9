// SPDX-License-Identifier: Apache-2.0
// Signed config bundles: the JSON a channel delivers ({"agent_id","version","config",
// "signature"}), the canonical byte string the Ed25519 signature covers, signing (for
// `tidegate config sign`) and signature checks. docs/remote-config.md defines the format for
// other implementations; the test vector in bundle_test.cc pins it. Pure functions,
// thread-safe (libsodium is initialised on first use).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::remote {

// The largest bundle accepted (JSON bytes as received); bigger is refused as too_large.
inline constexpr size_t kMaxBundleBytes = 1 << 20;
// The largest version (2^53: every JSON implementation holds it exactly).
inline constexpr int64_t kMaxBundleVersion = int64_t{1} << 53;
// agent_id of a bundle meant for every agent.
inline constexpr std::string_view kAnyAgent = "*";

using SigningPublicKey = std::array<uint8_t, 32>;
using SigningSecretKey = std::array<uint8_t, 64>;
using Signature = std::array<uint8_t, 64>;

struct Bundle {
  std::string agent_id;  // one agent's agent.id, or "*"
  int64_t version = 0;   // 1..kMaxBundleVersion
  std::string config;    // the YAML text
  Signature signature{};

  bool operator==(const Bundle&) const = default;
};

// "tidegate-config-bundle-v1\n", u32 BE length + agent_id, u64 BE version, u32 BE length +
// config. REQUIRES: agent_id and config shorter than 4 GiB.
std::string CanonicalSigningBytes(std::string_view agent_id, int64_t version,
                                  std::string_view config);

// Parses bundle JSON strictly: an object with exactly the four members (no others, no
// duplicates), agent_id "*" or 1-128 of [A-Za-z0-9._-], version an integer 1..2^53, config
// a string, signature standard base64 (with padding) of 64 bytes. Errors are
// kResourceExhausted "too_large" past kMaxBundleBytes, else kInvalidArgument "malformed: ...".
Result<Bundle> ParseBundle(std::string_view json);

// The bundle as one line of JSON (no trailing newline); ParseBundle reads it back.
std::string SerializeBundle(const Bundle& bundle);

// Signs agent_id, version and config with an Ed25519 secret key.
Bundle SignBundle(std::string agent_id, int64_t version, std::string config,
                  const SigningSecretKey& key);

// True if the signature covers the bundle's canonical bytes under key.
bool VerifyBundleSignature(const Bundle& bundle, const SigningPublicKey& key);

// Key files as `tidegate keys init` writes them: '#' comment lines and one line of hex.
// kInvalidArgument (no key bytes in the message) if the text holds no key of the right size.
Result<SigningPublicKey> ParseSigningPublicKey(std::string_view text);
Result<SigningSecretKey> ParseSigningSecretKey(std::string_view text);

// True if id may name an agent in a bundle: "*" or 1-128 of [A-Za-z0-9._-].
bool IsBundleAgentId(std::string_view id);

}  // namespace tidegate::remote
