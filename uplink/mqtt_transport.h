// SPDX-License-Identifier: Apache-2.0
// MqttTransport: the MQTT v5 uplink (docs/mqtt-uplink.md). Publishes batches at QoS 1 to
// tidegate/<agent_id>/batches with the protocol's properties, and turns the collectors'
// acks on tidegate/<agent_id>/acks into Completions. Connects with TLS and a client
// certificate, clean start off and a session expiry, so the broker keeps the ack
// subscription (and queues acks) while the agent is away. Owns a network thread (started by
// Start, joined by Stop or the destructor) that connects, runs libmosquitto's loop and
// reconnects with jittered backoff. Submit/Take/health: the uplink's sending thread;
// Interrupt/Wake: any thread. The broker's PUBACK only means "the broker has it".
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "common/reconnect_backoff.h"
#include "common/status.h"
#include "uplink/async_transport.h"
#include "uplink/mqtt_side_channel.h"
#include "uplink/mqtt_url.h"

namespace tidegate::uplink {

class MqttTransport final : public AsyncTransport {
 public:
  // How long the broker keeps our session (subscription, queued acks) while we are away.
  static constexpr uint32_t kSessionExpirySeconds = 7 * 24 * 3600;
  static constexpr int kQos = 1;

  // Validates uplink.url and sets up libmosquitto (TLS files are read here: a missing file
  // is an error now, not a reconnect loop). Does not connect; see Start.
  static Result<std::unique_ptr<MqttTransport>> Create(const UplinkSection& config,
                                                       const std::string& agent_id,
                                                       uint64_t rng_seed);
  ~MqttTransport() override;
  MqttTransport(const MqttTransport&) = delete;
  MqttTransport& operator=(const MqttTransport&) = delete;

  // Serves `channel` (not owned; must outlive this) on this connection too. Before Start.
  void AttachSideChannel(MqttSideChannel* channel) { side_channel_ = channel; }
  // Publishes a side channel's message at QoS 1 (any thread). Unavailable when not connected.
  Status PublishSide(const std::string& topic, std::string_view payload, bool retain);

  // Starts the network thread (connects in the background). Call once.
  void Start();
  // Disconnects cleanly (the broker keeps the session) and joins the network thread.
  void Stop();

  size_t max_inflight() const override { return config_.mqtt_max_inflight; }
  Status Submit(const EncodedBatch& batch) override;
  std::vector<Completion> Take(std::chrono::milliseconds wait) override;
  void Interrupt() override;
  void Wake() override;
  TransportHealth health() const override;

  const std::string& batches_topic() const { return batches_topic_; }
  const std::string& acks_topic() const { return acks_topic_; }

 private:
  struct MosqDeleter {
    void operator()(mosquitto* m) const { mosquitto_destroy(m); }
  };
  struct Attempt;

  MqttTransport(const UplinkSection& config, const std::string& agent_id, MqttAddress address,
                uint64_t rng_seed);
  Status Configure();
  void Run();
  // Connects and serves until the connection ends or Stop; records what happened.
  void ConnectAndServe(Attempt* attempt);
  void ServeUntilClosed(Attempt* attempt);
  void OnAttemptEnded(const Attempt& attempt);
  bool WaitBeforeRetry(std::chrono::milliseconds delay);
  bool Stopping();
  void PushCompletion(Completion completion);

  static void OnConnect(mosquitto* m, void* self, int rc, int flags, const mosquitto_property* p);
  static void OnDisconnect(mosquitto* m, void* self, int rc, const mosquitto_property* p);
  static void OnMessage(mosquitto* m, void* self, const mosquitto_message* message,
                        const mosquitto_property* props);
  static void OnLog(mosquitto* m, void* self, int level, const char* text);

  const UplinkSection config_;
  const std::string client_id_;
  const std::string batches_topic_;
  const std::string acks_topic_;
  const MqttAddress address_;
  std::unique_ptr<mosquitto, MosqDeleter> mosq_;
  MqttSideChannel* side_channel_ = nullptr;  // set before Start

  // Network thread only.
  Rng rng_;
  ReconnectBackoff backoff_;
  FailureLogLimiter log_limiter_;
  uint64_t failures_in_a_row_ = 0;
  int connack_rc_ = -1;
  std::string library_error_;  // first libmosquitto error of an attempt (OpenSSL's reason)
  std::chrono::steady_clock::time_point connected_at_{};
  std::thread thread_;

  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> invalid_acks_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;               // guarded by mu_
  bool interrupted_ = false;            // guarded by mu_
  bool woken_ = false;                  // guarded by mu_
  std::deque<Completion> completions_;  // guarded by mu_; bounded by kMaxQueuedCompletions
  TransportHealth health_;              // guarded by mu_ (connected is connected_)
};

}  // namespace tidegate::uplink
