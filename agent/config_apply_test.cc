// SPDX-License-Identifier: Apache-2.0
#include "agent/config_apply.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <string>

#include "remote/bundle.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace tidegate::agent {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string Hex(const uint8_t* bytes, size_t n) {
  std::string hex(n * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, n);
  hex.pop_back();
  return hex;
}

// An agent's directory: a config file with remote_config enabled, its signing pair, a
// state_dir; `privacy` is spliced in as the privacy section.
struct Gateway {
  TempDir dir{"apply"};
  remote::SigningSecretKey sk{};
  std::string config_path = dir.path() + "/tidegate.yaml";
  int applied = 0;
  Config last_applied;

  Gateway() {
    REQUIRE(sodium_init() >= 0);
    remote::SigningPublicKey pk{};
    crypto_sign_keypair(pk.data(), sk.data());
    REQUIRE(WriteFile(dir.path() + "/signing.pub", Hex(pk.data(), pk.size()) + "\n", 0600).ok());
    REQUIRE(WriteFile(config_path, Yaml(""), 0600).ok());
  }

  std::string Yaml(const std::string& privacy, const std::string& uplink_port = "8443") const {
    return "agent:\n  id: gw-1\n  state_dir: " + dir.path() +
           "\nsource:\n  mqtt:\n    topics:\n      - filter: devices/+/telemetry\n"
           "uplink: {url: https://127.0.0.1:" +
           uplink_port +
           "/v1/batches}\nremote_config:\n  enabled: true\n  url: https://127.0.0.1:9/v1/opamp\n"
           "  signing_public_key: " +
           dir.path() + "/signing.pub\n" + privacy;
  }

  std::unique_ptr<ConfigApplier> Applier() {
    auto config = ValidateConfigText(ReadFile(config_path), config_path);
    REQUIRE(config.ok());
    auto applier = ConfigApplier::Create(config_path, *config, [this](const Config& next) {
      ++applied;
      last_applied = next;
      return Status::Ok();
    });
    REQUIRE(applier.ok());
    return std::move(applier).value();
  }

  std::string Bundle(int64_t version, const std::string& yaml, const std::string& agent = "gw-1") {
    return remote::SerializeBundle(remote::SignBundle(agent, version, yaml, sk));
  }
};

const std::string kDropRule =
    "privacy:\n  rules:\n    - match: devices/+/telemetry\n      drop: [/user/email]\n";

std::string Metrics(const ConfigApplier& applier) {
  std::string out;
  applier.AppendMetrics(&out);
  return out;
}

}  // namespace

TEST_CASE("an accepted bundle is written atomically, recorded and applied live", "[config]") {
  Gateway gw;
  const std::string before = ReadFile(gw.config_path);
  auto applier = gw.Applier();
  const remote::ApplyOutcome outcome = applier->HandleBundle(gw.Bundle(7, gw.Yaml(kDropRule)));
  CHECK(outcome.reason.empty());
  CHECK(outcome.state == remote::ApplyOutcome::State::kApplied);
  CHECK(outcome.version == 7);
  CHECK(outcome.bundle_hash.size() == 32);
  CHECK(gw.applied == 1);
  CHECK(gw.last_applied.privacy.rules.size() == 1);
  CHECK(ReadFile(gw.config_path) == "# tidegate: remote config bundle v7\n" + gw.Yaml(kDropRule));
  CHECK(ReadFile(gw.config_path + ".last-good") == before);
  CHECK(ReadFile(gw.dir.path() + "/remote_config.version") == "7\n");
  CHECK(Metrics(*applier).find("tidegate_config_version 7\n") != std::string::npos);
  CHECK(Metrics(*applier).find("tidegate_config_applied_total 1\n") != std::string::npos);

  SECTION("after a restart the same version is a replay, and the gauge still shows it") {
    auto restarted = gw.Applier();
    CHECK(Metrics(*restarted).find("tidegate_config_version 7\n") != std::string::npos);
    const remote::ApplyOutcome replay = restarted->HandleBundle(gw.Bundle(7, gw.Yaml("")));
    CHECK(replay.reason == "replayed_version");
    CHECK(
        Metrics(*restarted).find("tidegate_config_rejected_total{reason=\"replayed_version\"} 1") !=
        std::string::npos);
  }
}

TEST_CASE("a refused bundle changes nothing", "[config]") {
  Gateway gw;
  const std::string before = ReadFile(gw.config_path);
  auto applier = gw.Applier();
  SECTION("for another agent") {
    CHECK(applier->HandleBundle(gw.Bundle(1, gw.Yaml(""), "gw-2")).reason == "wrong_agent");
  }
  SECTION("an invalid config") {
    CHECK(applier->HandleBundle(gw.Bundle(1, gw.Yaml("bogus: 1\n"))).reason ==
          "invalid_config: bundle v1:13: bogus");
  }
  SECTION("a change this build applies only at a restart") {
    CHECK(applier->HandleBundle(gw.Bundle(1, gw.Yaml("events: {id: {field: /msg_id}}\n"))).reason ==
          "restart_required: events");
  }
  CHECK(gw.applied == 0);
  CHECK(ReadFile(gw.config_path) == before);
  CHECK(ReadFile(gw.dir.path() + "/remote_config.version").empty());
}

TEST_CASE("a bundle may change the HTTPS uplink live", "[config]") {
  Gateway gw;
  auto applier = gw.Applier();
  const remote::ApplyOutcome outcome = applier->HandleBundle(gw.Bundle(2, gw.Yaml("", "9443")));
  CHECK(outcome.state == remote::ApplyOutcome::State::kApplied);
  CHECK(gw.last_applied.uplink.url == "https://127.0.0.1:9443/v1/batches");
}

TEST_CASE("a bundle that cannot be applied puts the old file back", "[config]") {
  Gateway gw;
  const std::string before = ReadFile(gw.config_path);
  auto config = ValidateConfigText(before, gw.config_path);
  REQUIRE(config.ok());
  auto applier = ConfigApplier::Create(gw.config_path, *config,
                                       [](const Config&) { return InvalidArgument("no"); });
  REQUIRE(applier.ok());
  const remote::ApplyOutcome outcome = (*applier)->HandleBundle(gw.Bundle(3, gw.Yaml(kDropRule)));
  CHECK(outcome.reason == "apply_failed");
  CHECK(ReadFile(gw.config_path) == before);
  CHECK((*applier)->HandleBundle(gw.Bundle(3, gw.Yaml(kDropRule))).reason == "replayed_version");
}

TEST_CASE("SIGHUP applies a valid local file and refuses a bad one", "[config]") {
  Gateway gw;
  auto applier = gw.Applier();
  REQUIRE(WriteFile(gw.config_path, gw.Yaml(kDropRule), 0600).ok());
  CHECK(applier->ReloadLocal().state == remote::ApplyOutcome::State::kApplied);
  CHECK(gw.applied == 1);
  REQUIRE(WriteFile(gw.config_path, gw.Yaml("privacy: {rules: 3}\n"), 0600).ok());
  const remote::ApplyOutcome bad = applier->ReloadLocal();
  CHECK(bad.state == remote::ApplyOutcome::State::kFailed);
  CHECK(bad.reason.rfind("invalid_config: " + gw.config_path + ":13: privacy.rules", 0) == 0);
  CHECK(gw.applied == 1);
  CHECK(Metrics(*applier).find("tidegate_config_rejected_total{reason=\"invalid_config\"} 1") !=
        std::string::npos);
  CHECK(Metrics(*applier).find("tidegate_config_version 0\n") != std::string::npos);
}

TEST_CASE("RestartRequiredKey names the first section that cannot change live", "[config]") {
  Config a;
  Config b = a;
  CHECK(RestartRequiredKey(a, b).empty());
  b.privacy.key_file = "/k";
  b.mqtt.topics.push_back({.filter = "x/#"});
  b.remote_config.rollback_after = Millis(60'000);
  CHECK(RestartRequiredKey(a, b).empty());
  b.uplink.url = "https://other:8443/v1/batches";
  b.uplink.tls.ca_file = "/ca.pem";
  CHECK(RestartRequiredKey(a, b).empty());  // the uplink changes live on the same transport
  b.uplink.transport = Transport::kMqtt;
  CHECK(RestartRequiredKey(a, b) == "uplink");
  b.uplink = a.uplink;
  b.buffer.max_events = 5;
  b.buffer.max_bytes = 1 << 20;
  b.buffer.max_age = Millis(3'600'000);
  b.buffer.when_full = WhenFull::kBlock;
  CHECK(RestartRequiredKey(a, b).empty());  // the buffer's bounds change live
  b.buffer.sync = SyncMode::kFull;
  CHECK(RestartRequiredKey(a, b) == "buffer");
  SchemaSpec schema;
  schema.name = "thermo";
  b.schemas.push_back(schema);
  CHECK(RestartRequiredKey(a, b) == "schemas");
  b.agent.id = "x";
  CHECK(RestartRequiredKey(a, b) == "agent");
}

TEST_CASE("BundleVersionOfFile reads only the exact marker line", "[config]") {
  CHECK(BundleVersionOfFile("# tidegate: remote config bundle v12\nagent: {}\n") == 12);
  CHECK(BundleVersionOfFile("agent: {}\n") == 0);
  CHECK(BundleVersionOfFile("# tidegate: remote config bundle v12") == 0);
  CHECK(BundleVersionOfFile("# tidegate: remote config bundle vx\n") == 0);
}

}  // namespace tidegate::agent

namespace tidegate::agent {

TEST_CASE("a bundle that leaves the uplink failing for rollback_after is rolled back", "[config]") {
  Gateway gw;
  const std::string before = ReadFile(gw.config_path);
  auto applier = gw.Applier();
  std::vector<remote::ApplyOutcome> reported;
  applier->SetRollbackReporter([&](const remote::ApplyOutcome& o) { reported.push_back(o); });
  REQUIRE(applier->HandleBundle(gw.Bundle(4, gw.Yaml(kDropRule))).reason.empty());
  REQUIRE(gw.last_applied.privacy.rules.size() == 1);
  const Millis t0(1'000'000);
  const int64_t five_min = 300'000;
  SECTION("failing since the apply: rolled back once the window has passed") {
    applier->CheckRollback(-1, t0);
    applier->CheckRollback(five_min - 1, t0 + Millis(five_min - 1));
    CHECK(reported.empty());
    // A failure older than the apply counts only from the apply.
    applier->CheckRollback(10 * five_min, t0 + Millis(five_min - 1));
    CHECK(reported.empty());
    applier->CheckRollback(five_min, t0 + Millis(five_min));
    REQUIRE(reported.size() == 1);
    CHECK(reported[0].state == remote::ApplyOutcome::State::kRolledBack);
    CHECK(reported[0].reason == "uplink_failing");
    CHECK(reported[0].version == 4);
    CHECK(gw.last_applied.privacy.rules.empty());
    CHECK(ReadFile(gw.config_path) == before);
    CHECK(Metrics(*applier).find("tidegate_config_rollbacks_total 1\n") != std::string::npos);
    CHECK(Metrics(*applier).find("tidegate_config_version 0\n") != std::string::npos);
    // Once only, and the rolled-back version stays consumed.
    applier->CheckRollback(2 * five_min, t0 + Millis(2 * five_min));
    CHECK(reported.size() == 1);
    CHECK(applier->HandleBundle(gw.Bundle(4, gw.Yaml(kDropRule))).reason == "replayed_version");
  }
  SECTION("delivering for the whole window: the watch ends") {
    applier->CheckRollback(-1, t0);
    applier->CheckRollback(-1, t0 + Millis(five_min));
    applier->CheckRollback(five_min, t0 + Millis(3 * five_min));
    CHECK(reported.empty());
    CHECK(gw.last_applied.privacy.rules.size() == 1);
  }
}

}  // namespace tidegate::agent
