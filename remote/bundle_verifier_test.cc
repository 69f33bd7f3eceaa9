// SPDX-License-Identifier: Apache-2.0
#include "remote/bundle_verifier.h"

#include <sodium.h>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace tidegate::remote {
namespace {

struct Keys {
  SigningPublicKey pk{};
  SigningSecretKey sk{};
  Keys() {
    REQUIRE(sodium_init() >= 0);
    crypto_sign_keypair(pk.data(), sk.data());
  }
};

// A stand-in for the agent's validator: "agent_id=X state_dir=Y remote=on|off key=K
// next=N" lines; "bad" anywhere is invalid, reported as the loader would.
Result<Config> FakeValidate(std::string_view text, const std::string& source) {
  if (text.find("bad") != std::string_view::npos) {
    return InvalidArgument(source + ":3: source.mqtt.port: expected an integer, got 'bad'\n" +
                           source + ":4: other: problem");
  }
  Config config;
  config.agent.id = "gw-1";
  config.agent.state_dir = "/var/lib/tidegate";
  config.remote_config.enabled = true;
  config.remote_config.signing_public_key = "/k/signing.pub";
  config.remote_config.next_signing_public_key = "/k/next.pub";
  auto value = [&](std::string_view name) -> std::string {
    const size_t at = text.find(name);
    if (at == std::string_view::npos) return "";
    const std::string_view rest = text.substr(at + name.size());
    return std::string(rest.substr(0, rest.find_first_of(" \n")));
  };
  if (auto v = value("id="); !v.empty()) config.agent.id = v;
  if (auto v = value("state_dir="); !v.empty()) config.agent.state_dir = v;
  if (value("remote=") == "off") config.remote_config.enabled = false;
  if (auto v = value("key="); !v.empty()) config.remote_config.signing_public_key = v;
  return config;
}

struct Fixture {
  Keys keys;
  testing::TempDir dir{"verifier"};
  VersionStore versions = VersionStore::Open(dir.path()).value();
  Config current = FakeValidate("", "local").value();
  BundleVerifier verifier{keys.pk, "gw-1", &versions, FakeValidate};

  Verdict Check(const std::string& agent, int64_t version, const std::string& config) {
    return verifier.Verify(SerializeBundle(SignBundle(agent, version, config, keys.sk)), current);
  }
};

}  // namespace

TEST_CASE("a good bundle for this agent or for every agent is accepted", "[remote]") {
  Fixture f;
  const Verdict mine = f.Check("gw-1", 1, "x");
  CHECK(mine.accepted());
  CHECK(mine.version == 1);
  REQUIRE(mine.config.has_value());
  CHECK(mine.config->agent.id == "gw-1");
  CHECK(f.Check("*", 1, "x").accepted());
}

TEST_CASE("each refusal has its fixed reason", "[remote]") {
  Fixture f;
  SECTION("too_large") {
    const Verdict v = f.verifier.Verify(std::string(kMaxBundleBytes + 1, ' '), f.current);
    CHECK(v.reason == "too_large");
    CHECK(v.version == 0);
  }
  SECTION("malformed") { CHECK(f.verifier.Verify("{\"a\":1}", f.current).reason == "malformed"); }
  SECTION("bad_signature: another key") {
    Keys other;
    const Bundle bundle = SignBundle("gw-1", 1, "x", other.sk);
    CHECK(f.verifier.Verify(SerializeBundle(bundle), f.current).reason == "bad_signature");
  }
  SECTION("bad_signature: a changed config") {
    Bundle bundle = SignBundle("gw-1", 1, "x", f.keys.sk);
    bundle.config = "y";
    CHECK(f.verifier.Verify(SerializeBundle(bundle), f.current).reason == "bad_signature");
  }
  SECTION("wrong_agent") { CHECK(f.Check("gw-2", 1, "x").reason == "wrong_agent"); }
  SECTION("replayed_version") {
    REQUIRE(f.versions.Record(5).ok());
    CHECK(f.Check("gw-1", 5, "x").reason == "replayed_version");
    CHECK(f.Check("gw-1", 4, "x").reason == "replayed_version");
    CHECK(f.Check("gw-1", 6, "x").accepted());
  }
  SECTION("invalid_config names the place and key, never the value") {
    const Verdict v = f.Check("gw-1", 7, "bad");
    CHECK(v.reason == "invalid_config: bundle v7:3: source.mqtt.port");
    CHECK(v.detail.find("expected an integer") != std::string::npos);
  }
  SECTION("forbidden_change") {
    CHECK(f.Check("gw-1", 1, "id=gw-9").reason == "forbidden_change: agent.id");
    CHECK(f.Check("gw-1", 1, "state_dir=/tmp").reason == "forbidden_change: agent.state_dir");
    CHECK(f.Check("gw-1", 1, "remote=off").reason == "forbidden_change: remote_config.enabled");
    CHECK(f.Check("gw-1", 1, "key=/evil.pub").reason ==
          "forbidden_change: remote_config.signing_public_key");
  }
}

TEST_CASE("key rotation: a bundle may switch only to next_signing_public_key", "[remote]") {
  Fixture f;
  CHECK(f.Check("gw-1", 1, "key=/k/next.pub").accepted());
  f.current.remote_config.next_signing_public_key.clear();
  CHECK(f.Check("gw-1", 1, "key=/k/next.pub").reason ==
        "forbidden_change: remote_config.signing_public_key");
}

TEST_CASE("InvalidConfigReason keeps location and key only", "[remote]") {
  CHECK(InvalidConfigReason("bundle v2:9: buffer.max_bytes: bad size '12XB'") ==
        "invalid_config: bundle v2:9: buffer.max_bytes");
  CHECK(InvalidConfigReason("no structure at all") == "invalid_config: unreadable");
}

}  // namespace tidegate::remote
