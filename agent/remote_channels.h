// SPDX-License-Identifier: Apache-2.0
// The remote-config channel remote_config names, wired to the agent's ConfigApplier: OpAMP
// (remote/opamp/opamp_client.h, its own polling thread) or MQTT (remote/mqtt_config_channel.h,
// riding the uplink's MQTT connection). Created before the uplink transport starts (the MQTT
// channel must be attached first), started once the pipeline runs, stopped before it stops.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/config_apply.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "remote/mqtt_config_channel.h"
#include "remote/opamp/opamp_client.h"
#include "uplink/mqtt_transport.h"

namespace tidegate::agent {

class RemoteChannels {
 public:
  // The agent's health as OpAMP reports it (ready, or why not).
  using HealthSource = std::function<remote::opamp::HealthReport()>;

  // Null when remote_config is off. `transport`: the uplink's MQTT transport (the mqtt
  // channel needs it; config check refuses channel mqtt without it), not started yet.
  static Result<std::unique_ptr<RemoteChannels>> Create(const Config& config,
                                                        const std::string& config_path,
                                                        ConfigApplier& applier,
                                                        uplink::MqttTransport* transport,
                                                        HealthSource health, Clock& clock);
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
