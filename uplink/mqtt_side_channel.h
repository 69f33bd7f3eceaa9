// SPDX-License-Identifier: Apache-2.0
// A topic the MQTT uplink's connection serves besides batches and acks: remote config
// (remote/mqtt_config_channel.h) rides the same authenticated session instead of opening a
// second connection to the cloud broker.
#pragma once

#include <string>
#include <string_view>

namespace tidegate::uplink {

class MqttSideChannel {
 public:
  virtual ~MqttSideChannel() = default;
  // Subscribed at QoS 1 on every connect (a retained message there arrives each time).
  virtual const std::string& topic() const = 0;
  // One message on topic(). Called on the transport's network thread: hand the work off,
  // never block. payload is only valid during the call.
  virtual void OnMessage(std::string_view payload, bool retained) = 0;
  // The connection is up again (e.g. to publish a status that could not go out before).
  virtual void OnConnected() = 0;
};

}  // namespace tidegate::uplink
