// SPDX-License-Identifier: Apache-2.0
// MqttSource: the collector's MQTT v5 source (serve --mqtt). It consumes
// $share/<group>/tidegate/+/batches at QoS 1 from the cloud broker over TLS with a client
// certificate (clean start off, a session expiry, so a restarted collector with the same
// client id gets what the broker queued for it), hands each batch to BatchIntake with the
// topic's agent_id as the only identity allowed, and only then publishes the ack on the
// batch's response topic (if it is tidegate/<agent_id>/acks), as the protocol note says.
// Landing runs synchronously on libmosquitto's network thread: while a batch lands nothing
// more is read, so memory is bounded by one message (at most max_body_bytes, which the
// client also announces to the broker as its maximum packet size). libmosquitto reconnects
// with exponential backoff. Public methods are thread-safe.
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/intake/batch_intake.h"
#include "collector/sources/mqtt_ack.h"
#include "common/status.h"

namespace tidegate::collector {

struct MqttSourceOptions {
  MqttBrokerUrl broker;
  std::string group;      // shared-subscription group; ValidateGroupName
  std::string ca_file;    // PEM CA that signed the broker's certificate
  std::string cert_file;  // PEM client certificate (its CN must be a collector in the ACL)
  std::string key_file;
  std::string client_id;  // empty: DefaultMqttClientId(group)
  // How long the broker keeps this collector's session and queue while it is offline.
  // Longer rides out longer outages; a retired collector's queue lingers that long (the
  // agents republish what it never acknowledged after their ack timeout anyway).
  std::chrono::seconds session_expiry = std::chrono::hours(24);
};

struct MqttSourceCounts {
  int64_t messages = 0;        // batch messages received
  int64_t acks_published = 0;  // acks handed to the broker
  int64_t acks_skipped = 0;    // no ack: no or a foreign response topic, or a bad topic
  int64_t connects = 0;        // successful CONNACKs (1 + reconnects)
};

// "tidegate-collector-<group>-<hostname>".
std::string DefaultMqttClientId(const std::string& group);

class MqttSource {
 public:
  // Checks the options (kInvalidArgument), loads the TLS files (kInvalidArgument naming the
  // file), and starts connecting in the background; a broker that is down is retried, not
  // an error. `intake` must outlive the source.
  static Result<std::unique_ptr<MqttSource>> Start(const MqttSourceOptions& options,
                                                   BatchIntake& intake);
  ~MqttSource();  // Stop()
  MqttSource(const MqttSource&) = delete;
  MqttSource& operator=(const MqttSource&) = delete;

  // Disconnects and waits for the network thread (and a batch it is landing) to finish.
  void Stop();

  MqttSourceCounts counts() const;
  // `"mqtt_messages":N,...` for /v1/stats (no braces, no leading comma).
  std::string StatsJsonFields() const;

 private:
  MqttSource(const MqttSourceOptions& options, BatchIntake& intake);
  static void OnConnect(mosquitto* m, void* self, int rc, int flags, const mosquitto_property* p);
  static void OnDisconnect(mosquitto* m, void* self, int rc, const mosquitto_property* p);
  static void OnMessage(mosquitto* m, void* self, const mosquitto_message* msg,
                        const mosquitto_property* props);
  void HandleBatch(const mosquitto_message& msg, const mosquitto_property* props);
  void PublishAck(const std::string& topic, const std::string& correlation,
                  const std::string& body);

  struct Deleter {
    void operator()(mosquitto* m) const;
  };
  const MqttSourceOptions options_;
  const std::string subscription_;
  BatchIntake& intake_;
  std::unique_ptr<mosquitto, Deleter> mosq_;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> messages_{0};
  std::atomic<int64_t> acks_published_{0};
  std::atomic<int64_t> acks_skipped_{0};
  std::atomic<int64_t> connects_{0};
};

}  // namespace tidegate::collector
