// SPDX-License-Identifier: Apache-2.0
// `tidegate config sign` through the binary (SPEC "Binaries"): its output is a bundle that
// verifies under the pair `keys init` made, and every bad input exits 2 naming the file.
#include <catch2/catch.hpp>
#include <chrono>

#include "remote/bundle.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

const std::string kConfig =
    "agent:\n  id: gw-1\n  state_dir: /var/lib/tidegate\nsource:\n  mqtt:\n    topics:\n"
    "      - filter: devices/+/telemetry\nuplink: {url: https://127.0.0.1:8443/v1/batches}\n";

CommandResult Tidegate(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath("tidegate")};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<CommandResult> run = RunCommand(argv, seconds(30));
  REQUIRE(run.ok());
  return *run;
}

struct Signer {
  TempDir dir{"config-sign"};
  std::string keys = dir.File("keys");
  std::string config = dir.File("tidegate.yaml");
  Signer() {
    REQUIRE(Tidegate({"keys", "init", "--dir", keys}).exit_code == 0);
    REQUIRE(WriteFile(config, kConfig).ok());
  }
};

}  // namespace

TEST_CASE("config sign prints a bundle that verifies under signing.pub", "[integration]") {
  Signer s;
  SECTION("for every agent by default") {
    const CommandResult run =
        Tidegate({"config", "sign", "--key", s.keys + "/signing.key", "--version", "7", s.config});
    INFO(run.stderr_text);
    REQUIRE(run.exit_code == 0);
    REQUIRE(!run.stdout_text.empty());
    REQUIRE(run.stdout_text.back() == '\n');
    auto bundle = remote::ParseBundle(run.stdout_text.substr(0, run.stdout_text.size() - 1));
    REQUIRE(bundle.ok());
    CHECK(bundle->agent_id == "*");
    CHECK(bundle->version == 7);
    CHECK(bundle->config == kConfig);
    auto pk = remote::ParseSigningPublicKey(ReadFile(s.keys + "/signing.pub"));
    REQUIRE(pk.ok());
    CHECK(remote::VerifyBundleSignature(*bundle, *pk));
  }
  SECTION("for one agent") {
    const CommandResult run =
        Tidegate({"config", "sign", "--key", s.keys + "/signing.key", "--version",
                  "9007199254740992", "--agent", "gw-1", s.config});
    REQUIRE(run.exit_code == 0);
    auto bundle = remote::ParseBundle(run.stdout_text.substr(0, run.stdout_text.size() - 1));
    REQUIRE(bundle.ok());
    CHECK(bundle->agent_id == "gw-1");
  }
}

TEST_CASE("config sign exits 2 on bad usage, a bad key file or an invalid config",
          "[integration]") {
  Signer s;
  const std::string key = s.keys + "/signing.key";
  auto sign = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"config", "sign"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Tidegate(args);
  };
  SECTION("a missing key file is named") {
    const CommandResult run = sign({"--key", s.dir.File("nope.key"), "--version", "1", s.config});
    CHECK(run.exit_code == 2);
    CHECK(run.stderr_text.find(s.dir.File("nope.key")) != std::string::npos);
    CHECK(run.stdout_text.empty());
  }
  SECTION("a key file readable by others") {
    const std::string loose = s.dir.File("loose.key");
    REQUIRE(WriteFile(loose, ReadFile(key), 0644).ok());
    const CommandResult run = sign({"--key", loose, "--version", "1", s.config});
    CHECK(run.exit_code == 2);
    CHECK(run.stderr_text.find(loose) != std::string::npos);
    CHECK(run.stderr_text.find("0600") != std::string::npos);
  }
  SECTION("the public key instead of the secret one") {
    CHECK(sign({"--key", s.keys + "/signing.pub", "--version", "1", s.config}).exit_code == 2);
  }
  SECTION("versions out of range and bad agent ids") {
    CHECK(sign({"--key", key, "--version", "0", s.config}).exit_code == 2);
    CHECK(sign({"--key", key, "--version", "9007199254740993", s.config}).exit_code == 2);
    CHECK(sign({"--key", key, "--version", "x", s.config}).exit_code == 2);
    CHECK(sign({"--key", key, "--version", "1", "--agent", "a b", s.config}).exit_code == 2);
    CHECK(sign({"--key", key, s.config}).exit_code == 2);
  }
  SECTION("an invalid config names file, line and key") {
    REQUIRE(WriteFile(s.config, kConfig + "bogus: 1\n").ok());
    const CommandResult run = sign({"--key", key, "--version", "1", s.config});
    CHECK(run.exit_code == 2);
    CHECK(run.stderr_text.find(s.config + ":9: bogus") != std::string::npos);
    CHECK(run.stdout_text.empty());
  }
}

}  // namespace tidegate::testing
