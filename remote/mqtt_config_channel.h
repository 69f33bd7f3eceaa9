// SPDX-License-Identifier: Apache-2.0
// The MQTT remote-config channel (remote_config.channel: mqtt): bundles arrive as the
// retained message on tidegate/<agent_id>/config over the uplink's own MQTT connection, and
// the outcome of each is published, retained, to tidegate/<agent_id>/config/status (see
// docs/remote-config.md). The channel only moves bytes: verification and apply are the
// BundleHandler's.
//
// Threads: OnMessage and OnConnected run on the transport's network thread and only hand
// work over; one worker thread of the channel calls the handler and publishes. Bundles are
// state, not a queue: one slot holds the newest unhandled bundle (a newer one replaces it),
// and a bundle identical to the last one handled (the broker redelivers the retained message
// on every reconnect) is not handed over again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "remote/config_channel.h"
#include "uplink/mqtt_side_channel.h"

namespace tidegate::remote {

// A larger message on the config topic is refused (reported) without being read further.
inline constexpr size_t kMaxMqttBundleBytes = size_t{1} << 20;

class MqttConfigChannel final : public uplink::MqttSideChannel {
 public:
  // Publishes (topic, payload, retain) on the uplink's connection, e.g.
  // MqttTransport::PublishSide; Unavailable while disconnected (retried on OnConnected).
  using Publisher = std::function<Status(const std::string&, std::string_view, bool)>;

  struct Stats {
    uint64_t received = 0;   // messages on the config topic
    uint64_t handled = 0;    // handed to the handler
    uint64_t unchanged = 0;  // identical to the last one handled: skipped
    uint64_t too_large = 0;  // refused unread
    uint64_t statuses_published = 0;
  };

  MqttConfigChannel(const std::string& agent_id, BundleHandler handler, Publisher publisher);
  ~MqttConfigChannel() override;
  MqttConfigChannel(const MqttConfigChannel&) = delete;
  MqttConfigChannel& operator=(const MqttConfigChannel&) = delete;

  // Starts the worker thread. Call once, before the transport connects.
  void Start();
  // Joins the worker (a handler call in progress finishes first).
  void Stop();

  const std::string& topic() const override { return topic_; }
  const std::string& status_topic() const { return status_topic_; }
  void OnMessage(std::string_view payload, bool retained) override;
  void OnConnected() override;
  // Publishes an outcome that did not come from a bundle just received (a rollback).
  void Report(const ApplyOutcome& outcome);

  Stats stats() const;

  // The status message for an outcome (one JSON object; reasons never carry config values).
  static std::string StatusJson(const std::string& agent_id, const ApplyOutcome& outcome);
  // Lowercase hex SHA-256 of bytes.
  static std::string Sha256Hex(std::string_view bytes);

 private:
  void Run();
  void PublishPendingStatus(std::unique_lock<std::mutex>& lock);

  const std::string agent_id_;
  const std::string topic_;
  const std::string status_topic_;
  const BundleHandler handler_;
  const Publisher publisher_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;              // guarded by mu_
  std::optional<std::string> bundle_;  // guarded by mu_: newest unhandled bundle
  std::optional<std::string> status_;  // guarded by mu_: newest status not yet out
  bool publish_now_ = false;           // guarded by mu_: publish status_ now
  uint64_t connects_ = 0;              // guarded by mu_: OnConnected calls
  std::string last_hash_;              // guarded by mu_; hex, of the last bundle handled
  Stats stats_;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace tidegate::remote
