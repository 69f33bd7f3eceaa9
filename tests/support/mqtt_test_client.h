// SPDX-License-Identifier: Apache-2.0
// MqttTestClient: a real MQTT v5 client (libmosquitto, optionally TLS with a client
// certificate) for integration tests that play a gateway or a collector against a real
// broker: publish with v5 properties and see the PUBACK's reason code, subscribe and see the
// SUBACK's, and collect every message received with its properties. libmosquitto's network
// thread runs the callbacks; every public method is thread-safe and waits with a deadline.
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

struct MqttClientOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string client_id;
  // TLS when ca_file is set; with cert_file and key_file a client certificate too.
  std::string ca_file = {};
  std::string cert_file = {};
  std::string key_file = {};
  bool clean_start = true;
  std::uint32_t session_expiry_s = 0;  // MQTT v5 session expiry interval
};

struct MqttProperties {
  std::string content_type = {};
  std::string response_topic = {};
  std::string correlation_data = {};  // binary
  std::vector<std::pair<std::string, std::string>> user = {};

  // The first user property called `name`, if any.
  std::optional<std::string> User(const std::string& name) const;
};

struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  MqttProperties properties;
  bool retained = false;  // delivered from the broker's retained store
};

class MqttTestClient {
 public:
  // Connects and waits up to `timeout` for the CONNACK. kUnavailable with what happened
  // (connect error, CONNACK reason code, or the connection dropped, e.g. by a TLS alert) if
  // the broker did not accept the client.
  static Result<std::unique_ptr<MqttTestClient>> Connect(
      const MqttClientOptions& options,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  ~MqttTestClient();
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  // SUBSCRIBE and wait for the SUBACK: the granted QoS (0-2) or the v5 reason code (>= 0x80).
  Result<int> Subscribe(const std::string& filter, int qos,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // PUBLISH and, for QoS 1, wait for the PUBACK: its v5 reason code (0 success, 0x10 no
  // matching subscribers, 0x87 not authorised...). QoS 0 returns 0 once it is sent.
  Result<int> Publish(const std::string& topic, const std::string& payload, int qos,
                      const MqttProperties& properties = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // PUBLISH at QoS 1 with the retain flag (the broker keeps it for later subscribers).
  Result<int> PublishRetained(const std::string& topic, const std::string& payload,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Waits until at least `count` messages were received; false on timeout.
  bool WaitForMessages(std::size_t count, std::chrono::milliseconds timeout);
  std::vector<MqttMessage> Messages() const;
  bool connected() const;

 private:
  MqttTestClient() = default;
  static void OnConnect(mosquitto* m, void* self, int rc, int flags, const mosquitto_property* p);
  static void OnDisconnect(mosquitto* m, void* self, int rc, const mosquitto_property* p);
  static void OnPublish(mosquitto* m, void* self, int mid, int rc, const mosquitto_property* p);
  static void OnSubscribe(mosquitto* m, void* self, int mid, int count, const int* granted,
                          const mosquitto_property* p);
  static void OnMessage(mosquitto* m, void* self, const mosquitto_message* msg,
                        const mosquitto_property* p);
  Result<int> PublishWithRetain(const std::string& topic, const std::string& payload, int qos,
                                const MqttProperties& properties, std::chrono::milliseconds timeout,
                                bool retain);
  // Waits for the reply to `mid` (a PUBACK or SUBACK code) or a disconnect.
  Result<int> WaitForReply(int mid, std::chrono::milliseconds timeout, const char* what);

  struct Deleter {
    void operator()(mosquitto* m) const;
  };
  std::unique_ptr<mosquitto, Deleter> mosq_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<int> connack_;         // guarded by mu_
  bool disconnected_ = false;          // guarded by mu_
  int disconnect_rc_ = 0;              // guarded by mu_
  std::map<int, int> replies_;         // mid -> reason code; guarded by mu_
  std::vector<MqttMessage> messages_;  // guarded by mu_
};

}  // namespace tidegate::testing
