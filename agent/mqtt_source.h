// SPDX-License-Identifier: Apache-2.0
// MqttSource: the libmosquitto subscriber. A persistent session (clean_session off, fixed
// client id) so the broker queues while we are away or paused; topics and QoS from config;
// reconnect with exponential backoff. Messages are handed to the callback on libmosquitto's
// network thread (the ingest thread). The callback may block: that stops reading the
// socket, which is how buffer backpressure reaches the broker.
// Start/Stop from the owning thread; connected() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

struct mosquitto;
struct mosquitto_message;

namespace tidegate::agent {

class MqttSource {
 public:
  using MessageHandler = std::function<void(std::string_view topic, std::string_view payload)>;

  // config must outlive this object.
  MqttSource(const MqttSourceSection& config, MessageHandler handler);
  ~MqttSource();

  // Starts the network thread and the first connection attempt. Failing to reach the
  // broker is not an error here: the thread keeps retrying with backoff.
  Status Start();
  // Disconnects and joins the network thread; no handler call runs after it returns.
  void Stop();

  bool connected() const { return connected_; }
  uint64_t connects() const { return connects_; }

 private:
  static void OnConnect(mosquitto* mosq, void* self, int rc, int flags);
  static void OnDisconnect(mosquitto* mosq, void* self, int rc);
  static void OnMessage(mosquitto* mosq, void* self, const ::mosquitto_message* message);

  const MqttSourceSection& config_;
  MessageHandler handler_;
  mosquitto* mosq_ = nullptr;
  bool started_ = false;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> connects_{0};
};

}  // namespace tidegate::agent
