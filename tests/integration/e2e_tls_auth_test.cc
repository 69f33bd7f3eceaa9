// SPDX-License-Identifier: Apache-2.0
// TLS and passwords end to end (issue 11), real parts only: a mosquitto whose TLS listener
// requires a user name and password (mosquitto_passwd), tidegate-sim publishing to it with
// --ca-file, --username and --password-file (and --topic templates mixing telemetry and
// alarms), the agent subscribing to it with source.mqtt.tls and credentials and uploading
// with a client certificate to a collector that requires one. Checks that the sim refuses
// to go on without the password or with the wrong CA, that everything published lands
// exactly once, and that the agent's startup security summary says how each connection is
// protected without a password, user name or key ever appearing in its log.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kAgentId = "tidegate-test-client";  // CN of certs.client_cert
constexpr int kEvents = 40;

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// Random-looking secrets, so finding one in a log cannot be a coincidence.
struct Secrets {
  std::string agent_user, agent_password, sim_user, sim_password;
};

Secrets MakeSecrets() {
  const std::string n = std::to_string(TestSeed() % 1'000'000'007);
  return {.agent_user = "agent-user-" + n,
          .agent_password = "agent-pass-" + n + "-Zq9",
          .sim_user = "sim-user-" + n,
          .sim_password = "sim-pass-" + n + "-Xr4"};
}

CommandResult RunSim(E2eStack& stack, std::vector<std::string> args,
                     const ProcessOptions& options = {}) {
  std::vector<std::string> argv = {BinaryPath("tidegate-sim"),
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(stack.broker().tls_port()),
                                   "--client-id",
                                   "sim-tls-auth",
                                   "--qos",
                                   "1",
                                   "--ack-timeout",
                                   "20s",
                                   "--log",
                                   stack.PublishLogPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<CommandResult> run = RunCommand(argv, seconds(60), options);
  RequireOk(run.status(), &stack);
  return *run;
}

// Starts the agent against the broker's TLS listener with credentials, a client
// certificate for the uplink and one privacy rule using a token key with id k9.
void StartAgent(E2eStack& stack, const Secrets& secrets) {
  const TestCerts& certs = stack.certs();
  const std::string keys = stack.dir().File("keys");
  Result<CommandResult> init = stack.RunTidegate({"keys", "init", "--dir", keys, "--key-id", "k9"});
  RequireOk(init.status(), &stack);
  REQUIRE(init->exit_code == 0);
  // The password in a mode 0600 file, as the docs recommend: config check refuses a
  // world-readable config that holds one inline.
  const std::string password_file = stack.dir().File("agent.pass");
  RequireOk(WriteFile(password_file, secrets.agent_password + "\n", 0600));
  StackOptions& o = stack.mutable_options();
  o.mqtt_port = stack.broker().tls_port();
  o.mqtt_extra_yaml = "    credentials: {username: " + secrets.agent_user +
                      ", password_file: " + password_file + "}\n" +
                      "    tls: {ca_file: " + certs.ca_cert + "}\n";
  o.topics_yaml =
      "      - {filter: plant/+/telemetry, qos: 1, priority: 5}\n"
      "      - {filter: plant/+/alarms, qos: 1, priority: 9}\n";
  o.uplink_cert_file = certs.client_cert;
  o.uplink_key_file = certs.client_key;
  o.extra_agent_yaml = "privacy:\n  key_file: " + keys +
                       "/token.keys\n  rules:\n    - match: plant/#\n"
                       "      tokenize: [/user/email]\n";
  RequireOk(stack.StartAgent(), &stack);
}

void CheckSecuritySummary(E2eStack& stack, const Secrets& secrets) {
  const std::string log = ReadFile(stack.AgentLogPath());
  INFO(log);
  CHECK(Contains(
      log, "security: source mqtt host=127.0.0.1:" + std::to_string(stack.broker().tls_port()) +
               " tls=on ca=custom client_cert=no user_set=yes password_set=yes\"\n"));
  CHECK(Contains(log, "security: uplink transport=https host=localhost:" +
                          std::to_string(stack.collector_port()) +
                          " tls=on ca=custom client_cert=yes\"\n"));
  CHECK(Contains(log,
                 "security: privacy token_key=k9 privacy_rules=1 encrypt_recipient=none "
                 "aggregations=0 schemas=0\"\n"));
  for (const std::string& secret : {secrets.agent_user, secrets.agent_password}) {
    CHECK_FALSE(Contains(log, secret));
  }
  // The token key's bytes (hex, in the key file) never appear either.
  const std::string key_line = ReadLines(stack.dir().File("keys") + "/token.keys").back();
  const size_t space = key_line.find(' ');
  REQUIRE(space != std::string::npos);
  CHECK_FALSE(Contains(log, key_line.substr(space + 1, 64)));
}

TEST_CASE(
    "over TLS with passwords: the sim publishes, the agent ingests and uploads with a "
    "client certificate, and its security summary holds no secret",
    "[integration][issue-11]") {
  const Secrets secrets = MakeSecrets();
  StackOptions options;
  options.agent_id = kAgentId;
  options.collector_requires_client_cert = true;
  E2eStack stack("tls-auth", options);
  RequireOk(stack.Prepare(), &stack);
  const TestCerts& certs = stack.certs();
  RequireOk(stack.StartBroker({.tls_cert_file = certs.server_cert,
                               .tls_key_file = certs.server_key,
                               .users = {{secrets.agent_user, secrets.agent_password},
                                         {secrets.sim_user, secrets.sim_password}}}),
            &stack);
  StartAgent(stack, secrets);
  CheckSecuritySummary(stack, secrets);

  const std::string password_file = stack.dir().File("sim.pass");
  RequireOk(WriteFile(password_file, secrets.sim_password + "\n"));
  const std::vector<std::string> workload = {
      "--count", std::to_string(kEvents),      "--rate",  "500",
      "--topic", "plant/{device}/telemetry@3", "--topic", "plant/{device}/alarms@1",
      "--seed",  std::to_string(TestSeed())};

  {  // No password: the broker refuses the CONNECT.
    CommandResult run = RunSim(stack, {"--ca-file", certs.ca_cert, "--count", "1"});
    INFO(run.stderr_text);
    CHECK(run.exit_code == 1);
    CHECK(Contains(run.stderr_text, "not authorised"));
  }
  {  // The broker's certificate does not verify against another CA: no connection.
    std::vector<std::string> args = {
        "--ca-file",       certs.untrusted_ca_cert, "--username", secrets.sim_user,
        "--password-file", password_file,           "--count",    "1"};
    CommandResult run = RunSim(stack, args);
    INFO(run.stderr_text);
    CHECK(run.exit_code == 1);
    // At connect, or in the network thread when the handshake outlasts the connect call.
    CHECK(Contains(run.stderr_text, "127.0.0.1:" + std::to_string(stack.broker().tls_port())));
    CHECK(Contains(run.stderr_text, "certificate verify failed"));
    CHECK_FALSE(Contains(run.stderr_text, secrets.sim_password));
  }
  std::vector<std::string> args = {"--ca-file",      certs.ca_cert,     "--username",
                                   secrets.sim_user, "--password-file", password_file};
  args.insert(args.end(), workload.begin(), workload.end());
  CommandResult run = RunSim(stack, args);
  INFO(run.stderr_text);
  REQUIRE(run.exit_code == 0);
  CHECK_FALSE(Contains(run.stdout_text + run.stderr_text, secrets.sim_password));

  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == static_cast<size_t>(kEvents));
  std::map<std::string, int> kinds;
  for (const PublishedEvent& e : *published) {
    const std::string prefix = "plant/" + e.device_id + "/";
    CHECK(e.topic.rfind(prefix, 0) == 0);
    kinds[e.topic.substr(e.topic.rfind('/') + 1)]++;
  }
  CHECK(kinds["telemetry"] + kinds["alarms"] == kEvents);
  CHECK(kinds["alarms"] > 0);  // P(no alarm in 40 at 1/4) = 1e-5

  if (!stack.WaitForLanded(published->size(), seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  DeliveryReport report = CompareByMsgId(*published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK_FALSE(Contains(ReadFile(stack.AgentLogPath()), secrets.agent_password));
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
