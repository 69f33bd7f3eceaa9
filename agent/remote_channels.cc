// SPDX-License-Identifier: Apache-2.0
#include "agent/remote_channels.h"

#include <spdlog/spdlog.h>

#include "agent/effective_config.h"
#include "remote/atomic_file.h"
#include "remote/bundle.h"

namespace tidegate::agent {
namespace {

// The config file as it is now (a bundle may have replaced it), redacted for reporting;
// bounded like a bundle, whose config it may be.
std::string EffectiveConfigOf(const std::string& config_path) {
  auto text = remote::ReadWholeFile(config_path, remote::kMaxBundleBytes);
  if (!text.ok()) return {};
  auto redacted = RedactEffectiveConfig(*text);
  return redacted.ok() ? *redacted : std::string();
}

}  // namespace

Result<std::unique_ptr<RemoteChannels>> RemoteChannels::Create(const Config& config,
                                                               const std::string& config_path,
                                                               ConfigApplier& applier,
                                                               MqttUplinkLink* link,
                                                               HealthSource health, Clock& clock) {
  if (!config.remote_config.enabled) return std::unique_ptr<RemoteChannels>();
  std::unique_ptr<RemoteChannels> channels(new RemoteChannels());
  if (config.remote_config.channel == RemoteChannel::kMqtt) {
    if (link == nullptr) {
      return InvalidArgument("remote_config.channel mqtt needs uplink.transport mqtt");
    }
    channels->mqtt_ = std::make_unique<remote::MqttConfigChannel>(
        config.agent.id, applier.handler(),
        [link](const std::string& topic, std::string_view payload, bool retain) {
          return link->PublishSide(topic, payload, retain);
        });
    link->AttachSideChannel(channels->mqtt_.get());
    remote::MqttConfigChannel* mqtt = channels->mqtt_.get();
    applier.SetRollbackReporter(
        [mqtt](const remote::ApplyOutcome& outcome) { mqtt->Report(outcome); });
    return channels;
  }
  remote::opamp::OpampClientSettings settings;
  settings.url = config.remote_config.url;
  settings.poll_interval = config.remote_config.poll_interval;
  settings.tls = config.uplink.tls;
  settings.state_dir = config.agent.state_dir;
  settings.agent_id = config.agent.id;
  TG_ASSIGN_OR_RETURN(
      channels->opamp_,
      remote::opamp::OpampClient::Create(
          settings, applier.handler(), [config_path] { return EffectiveConfigOf(config_path); },
          std::move(health), clock));
  // A rollback is reported as the RemoteConfigStatus of the bundle it undid (FAILED,
  // "rolled back: uplink_failing"), in the next exchange, which starts at once.
  remote::opamp::OpampClient* opamp = channels->opamp_.get();
  applier.SetRollbackReporter([opamp](const remote::ApplyOutcome& outcome) {
    spdlog::warn("remote config (opamp): bundle version {} rolled back: {}", outcome.version,
                 outcome.reason);
    opamp->ReportLaterOutcome(outcome);
  });
  return channels;
}

RemoteChannels::~RemoteChannels() { Stop(); }

void RemoteChannels::Start() {
  if (mqtt_) mqtt_->Start();
  if (opamp_) opamp_->Start();
}

void RemoteChannels::Stop() {
  if (opamp_) opamp_->Stop();
  if (mqtt_) mqtt_->Stop();
}

}  // namespace tidegate::agent
