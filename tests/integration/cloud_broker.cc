// SPDX-License-Identifier: Apache-2.0
#include "tests/integration/cloud_broker.h"

#include <catch2/catch.hpp>

#include "tests/support/binaries.h"
#include "tests/support/files.h"

namespace tidegate::testing {

void RequireOkStatus(const Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

CloudBroker::CloudBroker() : dir_("cloud-broker") {
  certs_ = RequireValue(MakeTestCerts(dir_.path()));
  gw_a_ = RequireValue(MakeClientCert(dir_.path(), certs_, "gw-a", 10));
  gw_b_ = RequireValue(MakeClientCert(dir_.path(), certs_, "gw-b", 11));
  collector1_ = RequireValue(MakeClientCert(dir_.path(), certs_, kCollector1Cn, 12));
  collector2_ = RequireValue(MakeClientCert(dir_.path(), certs_, kCollector2Cn, 13));
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

bool CloudBroker::Subscribed(const std::string& client_id) const {
  const std::string line = ": " + client_id + " 1 $share/" + kCloudGroup + "/tidegate/+/batches";
  for (const std::string& l : ReadLines(broker_.LogPath())) {
    if (l.find(line) != std::string::npos) return true;
  }
  return false;
}

}  // namespace tidegate::testing
