// SPDX-License-Identifier: Apache-2.0
// CloudBroker: a real mosquitto set up as configs/mosquitto-cloud.conf describes (TLS
// listener requiring a client certificate, CN as user name, the shipped
// configs/mosquitto-cloud.acl, subscriptions logged), plus certificates for two gateways
// (gw-a, gw-b), the two collectors and the config publisher the shipped ACL lists. For the
// broker-confinement, collector MQTT and remote-config tests. Owns its temp dir and broker;
// use from one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/certs.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace tidegate::testing {

inline constexpr const char* kCloudGroup = "collectors";
inline constexpr const char* kCollector1Cn = "tidegate-collector-1";  // in the shipped ACL
inline constexpr const char* kCollector2Cn = "tidegate-collector-2";
inline constexpr const char* kConfigPublisherCn = "tidegate-config-publisher";  // shipped ACL

// REQUIREs that status is OK, printing it otherwise.
void RequireOkStatus(const Status& status);

template <typename T>
T RequireValue(Result<T> result) {
  RequireOkStatus(result.status());
  return std::move(*result);
}

class CloudBroker {
 public:
  // REQUIREs that everything starts. `ca`: sign the broker's and clients' certificates
  // with these (e.g. an E2eStack's, so that its agent trusts the broker); null: new ones.
  explicit CloudBroker(const TestCerts* ca = nullptr);

  MqttClientOptions Tls(const CertAndKey& identity, const std::string& client_id) const;
  // A connected client (REQUIREd).
  std::unique_ptr<MqttTestClient> Connect(const CertAndKey& identity, const std::string& client_id);
  // collector-1's identity, subscribed to the collectors' shared subscription.
  std::unique_ptr<MqttTestClient> Collector();
  // How often the broker logged `client_id`'s subscription to the collectors' group.
  size_t Subscriptions(const std::string& client_id) const;

  const TestCerts& certs() const { return certs_; }
  const CertAndKey& gw_a() const { return gw_a_; }
  const CertAndKey& gw_b() const { return gw_b_; }
  const CertAndKey& collector1() const { return collector1_; }
  const CertAndKey& collector2() const { return collector2_; }
  const CertAndKey& config_publisher() const { return config_publisher_; }
  MosquittoBroker& broker() { return broker_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  TestCerts certs_;
  CertAndKey gw_a_, gw_b_, collector1_, collector2_, config_publisher_;
  MosquittoBroker broker_;
};

// A `tidegate-collector serve --mqtt` process (HTTPS on a free port too) with its own data
// directory, subscribed to the collectors' group of `cloud`. Kill() and Restart() keep the
// directory and client id, as a crashed and restarted collector would. `store`: the
// collector's --store (e.g. a postgresql:// URL shared by several collectors); empty: an
// SQLite store in its own directory. `extra_args`: more `serve` arguments (e.g.
// --max-body-bytes N).
class MqttCollector {
 public:
  MqttCollector(CloudBroker& cloud, const CertAndKey& identity, std::string client_id,
                std::string store = {}, std::vector<std::string> extra_args = {});
  void Kill() { process_.Kill(); }
  // Starts it again and waits until the broker has logged a new subscription from it.
  void Restart();
  // The same with other `serve` arguments from now on (e.g. --dictionary FILE).
  void RestartWith(std::vector<std::string> extra_args);
  // "agent_id/seq" of every landed event, from `tidegate-collector dump events`.
  std::vector<std::string> Events() const;
  std::string LogPath() const { return dir_.File("collector.log"); }
  // The --store argument (a directory or a PostgreSQL URL), also for `dump --store`.
  std::string DataDir() const { return store_.empty() ? dir_.File("data") : store_; }
  Process& process() { return process_; }

 private:
  void Launch();
  size_t Subscriptions() const;

  CloudBroker& cloud_;
  CertAndKey identity_;
  std::string client_id_;
  std::string store_;
  std::vector<std::string> extra_args_;
  TempDir dir_;
  Process process_;
};

}  // namespace tidegate::testing
