// SPDX-License-Identifier: Apache-2.0
// OpAMP remote config end to end: the real OpAMP client (remote/opamp/opamp_client.h, over
// cpp-httplib) polls a real `tidegate-collector serve --config-dir` over real TLS with client
// certificates (--client-ca), receives DIR/<agent_id>.json, hands it to a handler and
// reports APPLIED, or FAILED with the handler's reason, and `tidegate-collector agents`
// shows both. SPEC "Remote config".
//
// STAND-IN: the handler below is not the bundle verifier (built on another branch): it
// applies any bundle and refuses one whose text contains "refuse-me", so that both outcomes
// travel the real channel. Once the verifier lands, the agent wires it in instead.
#include <openssl/evp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>

#include "common/clock.h"
#include "remote/opamp/instance_uid.h"
#include "remote/opamp/opamp_client.h"
#include "tests/support/binaries.h"
#include "tests/support/certs.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using remote::ApplyOutcome;
using remote::opamp::OpampClient;
using remote::opamp::RemoteConfigReport;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return remote::opamp::HexOf(std::string_view(reinterpret_cast<const char*>(digest), len));
}

// The stand-in for the verifier (see the file comment).
struct StandInHandler {
  std::atomic<int> calls{0};
  ApplyOutcome operator()(std::string_view bundle) {
    ++calls;
    if (bundle.find("refuse-me") != std::string_view::npos) {
      return {.state = ApplyOutcome::State::kFailed,
              .reason = "stand-in verifier: refused",
              .version = 0,
              .bundle_hash = {}};
    }
    return {.state = ApplyOutcome::State::kApplied, .reason = {}, .version = 1, .bundle_hash = {}};
  }
};

struct TestAgent {
  StandInHandler handler;
  std::unique_ptr<OpampClient> client;

  TestAgent(const TempDir& dir, const std::string& id, const std::string& url,
            const TestCerts& certs, const CertAndKey& cert) {
    const std::string state = dir.MakeDir("state-" + id);
    auto created = OpampClient::Create(
        {.url = url,
         .poll_interval = milliseconds(100),
         .tls = {.ca_file = certs.ca_cert, .cert_file = cert.cert, .key_file = cert.key},
         .state_dir = state,
         .agent_id = id,
         .backoff_initial = milliseconds(100),
         .backoff_max = milliseconds(500)},
        [this](std::string_view b) { return handler(b); },
        [] { return std::string("agent:\n  id: <redacted>\n"); },
        [] { return remote::opamp::HealthReport{.healthy = true, .status = "ready"}; },
        RealClock());
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    client = std::move(created).value();
  }
};

std::string AgentsOutput(const std::string& store) {
  Result<CommandResult> run =
      RunCommand({BinaryPath("tidegate-collector"), "agents", "--store", store});
  REQUIRE(run.ok());
  INFO(run->stderr_text);
  REQUIRE(run->exit_code == 0);
  return run->stdout_text;
}

// The line of `agents` for this id ("" if none).
std::string LineOf(const std::string& output, const std::string& id) {
  size_t at = output.find("{\"id\":\"" + id + "\"");
  if (at == std::string::npos) return {};
  return output.substr(at, output.find('\n', at) - at);
}

TEST_CASE("OpAMP over TLS: a bundle is delivered, applied or refused, and reported",
          "[integration][opamp]") {
  TempDir dir("opamp-e2e");
  Result<TestCerts> certs = MakeTestCerts(dir.path());
  REQUIRE(certs.ok());
  Result<CertAndKey> gw1 = MakeClientCert(dir.path(), *certs, "gw-1", 11);
  Result<CertAndKey> gw2 = MakeClientCert(dir.path(), *certs, "gw-2", 12);
  REQUIRE(gw1.ok());
  REQUIRE(gw2.ok());
  const std::string bundles = dir.MakeDir("bundles");
  const std::string good = R"({"agent_id":"gw-1","version":1,"config":"x","signature":"s"})";
  const std::string bad = R"({"agent_id":"gw-2","version":1,"config":"refuse-me","signature":"s"})";
  std::ofstream(bundles + "/gw-1.json") << good;
  std::ofstream(bundles + "/gw-2.json") << bad;
  const std::string store = dir.MakeDir("store");
  const std::string ready = dir.File("collector.ready");

  Process collector;
  REQUIRE(
      collector
          .Start(
              {BinaryPath("tidegate-collector"), "serve", "--listen", "127.0.0.1:0", "--store",
               store, "--tls-cert", certs->server_cert, "--tls-key", certs->server_key,
               "--client-ca", certs->ca_cert, "--config-dir", bundles, "--ready-file", ready},
              {.stdout_file = dir.File("collector.log"), .stderr_file = dir.File("collector.log")})
          .ok());
  REQUIRE(WaitUntil([&] { return ReadFile(ready).find('\n') != std::string::npos; }, seconds(15)));
  const std::string port = ReadFile(ready).substr(0, ReadFile(ready).find('\n'));
  const std::string url = "https://127.0.0.1:" + port + "/v1/opamp";

  TestAgent agent1(dir, "gw-1", url, *certs, *gw1);
  TestAgent agent2(dir, "gw-2", url, *certs, *gw2);
  agent1.client->Start();
  agent2.client->Start();

  std::string out;
  bool reported = WaitUntil(
      [&] {
        out = AgentsOutput(store);
        return LineOf(out, "gw-1").find("\"config_status\":\"applied\"") != std::string::npos &&
               LineOf(out, "gw-2").find("\"config_status\":\"failed\"") != std::string::npos;
      },
      seconds(30), milliseconds(200));
  INFO("agents:\n" << out << "collector log:\n" << ReadFile(dir.File("collector.log")));
  INFO("gw-1 last error: " << agent1.client->Snapshot().last_error);
  REQUIRE(reported);
  const std::string line1 = LineOf(out, "gw-1");
  const std::string line2 = LineOf(out, "gw-2");
  CHECK(line1.find("\"config_hash\":\"" + Sha256Hex(good) + "\"") != std::string::npos);
  CHECK(line1.find("\"instance_uid\":\"" + agent1.client->Snapshot().instance_uid_hex + "\"") !=
        std::string::npos);
  CHECK(line1.find("\"healthy\":true") != std::string::npos);
  CHECK(line1.find("\"health_status\":\"ready\"") != std::string::npos);
  CHECK(line2.find("\"config_hash\":\"" + Sha256Hex(bad) + "\"") != std::string::npos);
  CHECK(line2.find("\"config_error\":\"stand-in verifier: refused\"") != std::string::npos);

  // More polls deliver nothing again: the collector omits what the agent reported.
  const uint64_t seq = agent1.client->Snapshot().sequence_num;
  REQUIRE(
      WaitUntil([&] { return agent1.client->Snapshot().sequence_num >= seq + 3; }, seconds(10)));
  CHECK(agent1.handler.calls == 1);
  CHECK(agent2.handler.calls == 1);
  // Reconnects (httplib closes after 5 requests) resume the TLS session: none may fail.
  CHECK(agent1.client->Snapshot().exchanges_failed == 0);
  CHECK(agent2.client->Snapshot().exchanges_failed == 0);
  agent1.client->Stop();
  agent2.client->Stop();
  CHECK(collector.Terminate(seconds(10)) == 0);
}

TEST_CASE("OpAMP over TLS: a certificate of another agent is refused and nothing recorded",
          "[integration][opamp]") {
  TempDir dir("opamp-e2e-403");
  Result<TestCerts> certs = MakeTestCerts(dir.path());
  REQUIRE(certs.ok());
  Result<CertAndKey> gw1 = MakeClientCert(dir.path(), *certs, "gw-1", 11);
  REQUIRE(gw1.ok());
  const std::string bundles = dir.MakeDir("bundles");
  std::ofstream(bundles + "/all.json") << "{}";
  const std::string store = dir.MakeDir("store");
  const std::string ready = dir.File("collector.ready");
  Process collector;
  REQUIRE(
      collector
          .Start(
              {BinaryPath("tidegate-collector"), "serve", "--listen", "127.0.0.1:0", "--store",
               store, "--tls-cert", certs->server_cert, "--tls-key", certs->server_key,
               "--client-ca", certs->ca_cert, "--config-dir", bundles, "--ready-file", ready},
              {.stdout_file = dir.File("collector.log"), .stderr_file = dir.File("collector.log")})
          .ok());
  REQUIRE(WaitUntil([&] { return ReadFile(ready).find('\n') != std::string::npos; }, seconds(15)));
  const std::string port = ReadFile(ready).substr(0, ReadFile(ready).find('\n'));

  TestAgent impostor(dir, "gw-2", "https://127.0.0.1:" + port + "/v1/opamp", *certs, *gw1);
  Status first = impostor.client->PollOnce();
  CHECK_FALSE(first.ok());
  CHECK(first.message().find("403") != std::string::npos);
  CHECK(impostor.handler.calls == 0);
  CHECK(AgentsOutput(store).empty());
  CHECK(collector.Terminate(seconds(10)) == 0);
}

}  // namespace
}  // namespace tidegate::testing
