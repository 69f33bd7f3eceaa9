// SPDX-License-Identifier: Apache-2.0
#include "tests/integration/cloud_broker.h"

#include <catch2/catch.hpp>

#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {

void RequireOkStatus(const Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

CloudBroker::CloudBroker(const TestCerts* ca) : dir_("cloud-broker") {
  certs_ = ca != nullptr ? *ca : RequireValue(MakeTestCerts(dir_.path()));
  gw_a_ = RequireValue(MakeClientCert(dir_.path(), certs_, "gw-a", 10));
  gw_b_ = RequireValue(MakeClientCert(dir_.path(), certs_, "gw-b", 11));
  collector1_ = RequireValue(MakeClientCert(dir_.path(), certs_, kCollector1Cn, 12));
  collector2_ = RequireValue(MakeClientCert(dir_.path(), certs_, kCollector2Cn, 13));
  config_publisher_ = RequireValue(MakeClientCert(dir_.path(), certs_, kConfigPublisherCn, 14));
  Status started =
      broker_.Start(dir_.MakeDir("broker"), {.tls_cert_file = certs_.server_cert,
                                             .tls_key_file = certs_.server_key,
                                             .tls_ca_file = certs_.ca_cert,
                                             .tls_require_client_cert = true,
                                             .tls_use_identity_as_username = true,
                                             .acl_file = SourcePath("configs/mosquitto-cloud.acl"),
                                             .allow_anonymous = false,
                                             .extra_config = "log_type subscribe"});
  INFO(broker_.LogTail());
  RequireOkStatus(started);
}

MqttClientOptions CloudBroker::Tls(const CertAndKey& identity, const std::string& client_id) const {
  return {.port = broker_.tls_port(),
          .client_id = client_id,
          .ca_file = certs_.ca_cert,
          .cert_file = identity.cert,
          .key_file = identity.key};
}

std::unique_ptr<MqttTestClient> CloudBroker::Connect(const CertAndKey& identity,
                                                     const std::string& client_id) {
  Result<std::unique_ptr<MqttTestClient>> client =
      MqttTestClient::Connect(Tls(identity, client_id));
  INFO(broker_.LogTail());
  RequireOkStatus(client.status());
  return std::move(*client);
}

std::unique_ptr<MqttTestClient> CloudBroker::Collector() {
  std::unique_ptr<MqttTestClient> c = Connect(collector1_, "collector-1");
  REQUIRE(RequireValue(
              c->Subscribe(std::string("$share/") + kCloudGroup + "/tidegate/+/batches", 1)) == 1);
  return c;
}

size_t CloudBroker::Subscriptions(const std::string& client_id) const {
  const std::string line = ": " + client_id + " 1 $share/" + kCloudGroup + "/tidegate/+/batches";
  size_t n = 0;
  for (const std::string& l : ReadLines(broker_.LogPath())) {
    if (l.find(line) != std::string::npos) ++n;
  }
  return n;
}

MqttCollector::MqttCollector(CloudBroker& cloud, const CertAndKey& identity, std::string client_id,
                             std::string store, std::vector<std::string> extra_args)
    : cloud_(cloud),
      identity_(identity),
      client_id_(std::move(client_id)),
      store_(std::move(store)),
      extra_args_(std::move(extra_args)),
      dir_("mqtt-collector") {
  Launch();
}

void MqttCollector::Restart() {
  process_.Kill();
  Launch();
}

void MqttCollector::RestartWith(std::vector<std::string> extra_args) {
  extra_args_ = std::move(extra_args);
  Restart();
}

void MqttCollector::Launch() {
  const size_t before = cloud_.Subscriptions(client_id_);
  std::vector<std::string> argv = {
      BinaryPath("tidegate-collector"),
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--store",
      DataDir(),
      "--mqtt",
      "mqtts://127.0.0.1:" + std::to_string(cloud_.broker().tls_port()),
      "--group",
      kCloudGroup,
      "--mqtt-ca",
      cloud_.certs().ca_cert,
      "--mqtt-cert",
      identity_.cert,
      "--mqtt-key",
      identity_.key,
      "--mqtt-client-id",
      client_id_};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  RequireOkStatus(process_.Start(argv, {.stdout_file = LogPath(), .stderr_file = LogPath()}));
  INFO(ReadFile(LogPath()) + cloud_.broker().LogTail());
  REQUIRE(
      WaitUntil([&] { return !process_.Running() || cloud_.Subscriptions(client_id_) > before; },
                std::chrono::seconds(20)));
  REQUIRE(process_.Running());
}

// {"agent_id":"gw-a","seq":3,...} -> "gw-a/3": our own dump's fixed key order.
std::vector<std::string> MqttCollector::Events() const {
  CommandResult dump = RequireValue(
      RunCommand({BinaryPath("tidegate-collector"), "dump", "--store", DataDir(), "events"}));
  INFO(dump.stderr_text);
  REQUIRE(dump.exit_code == 0);
  std::vector<std::string> out;
  const std::string a = "\"agent_id\":\"";
  const std::string s = "\"seq\":";
  size_t start = 0;
  for (size_t nl = dump.stdout_text.find('\n'); nl != std::string::npos;
       nl = dump.stdout_text.find('\n', start)) {
    const std::string line = dump.stdout_text.substr(start, nl - start);
    start = nl + 1;
    size_t ai = line.find(a);
    size_t si = line.find(s);
    REQUIRE(ai != std::string::npos);
    REQUIRE(si != std::string::npos);
    ai += a.size();
    si += s.size();
    out.push_back(line.substr(ai, line.find('"', ai) - ai) + "/" +
                  line.substr(si, line.find_first_of(",}", si) - si));
  }
  return out;
}

}  // namespace tidegate::testing
