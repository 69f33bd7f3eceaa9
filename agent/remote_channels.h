// SPDX-License-Identifier: Apache-2.0
// The remote-config channel remote_config names, wired to the agent's ConfigApplier: OpAMP
// (remote/opamp/opamp_client.h, its own polling thread) or MQTT (remote/mqtt_config_channel.h,
// riding the uplink's MQTT connection). Created before the uplink transport starts (the MQTT
// channel must be attached first), started once the pipeline runs, stopped before it stops.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/config_apply.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "remote/mqtt_config_channel.h"
#include "remote/opamp/opamp_client.h"
#include "uplink/mqtt_side_channel.h"

namespace tidegate::agent {

// The uplink's MQTT connection as the mqtt channel uses it. The agent may replace the
// transport behind it (a live uplink apply) and attaches the channel to the new one.
class MqttUplinkLink {
 public:
  virtual ~MqttUplinkLink() = default;
  // Attached before the transport starts, and to every transport that replaces it.
  virtual void AttachSideChannel(uplink::MqttSideChannel* channel) = 0;
  // Publishes on the current transport (kUnavailable while it is not connected).
  virtual Status PublishSide(const std::string& topic, std::string_view payload, bool retain) = 0;
};

class RemoteChannels {
 public:
  // The agent's health as OpAMP reports it (ready, or why not).
  using HealthSource = std::function<remote::opamp::HealthReport()>;

  // Null when remote_config is off. `link`: the uplink's MQTT connection (the mqtt channel
  // needs it; config check refuses channel mqtt without it), not started yet; null for an
  // HTTPS uplink.
  static Result<std::unique_ptr<RemoteChannels>> Create(const Config& config,
                                                        const std::string& config_path,
                                                        ConfigApplier& applier,
                                                        MqttUplinkLink* link, HealthSource health,
                                                        Clock& clock);
  ~RemoteChannels();
  RemoteChannels(const RemoteChannels&) = delete;
  RemoteChannels& operator=(const RemoteChannels&) = delete;

  void Start();
  void Stop();

 private:
  RemoteChannels() = default;

  std::unique_ptr<remote::MqttConfigChannel> mqtt_;
  std::unique_ptr<remote::opamp::OpampClient> opamp_;
};

}  // namespace tidegate::agent
