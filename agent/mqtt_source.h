// SPDX-License-Identifier: Apache-2.0
// MqttSource: the libmosquitto subscriber. A persistent session (clean_session off, fixed
// client id) so the broker queues while we are away or paused; topics and QoS from config.
// It owns its network thread and reconnect loop (libmosquitto's own loop thread gives up
// after a TLS failure or a failed first connect): every failed attempt and every lost
// connection is retried with backoff (1 s doubling to 30 s, back to 1 s after a connection
// that lasted 10 s) for as long as the source runs, each failure counted and logged with
// its reason (rate-limited).
// Messages are handed to the callback on that network thread (the ingest thread). The
// callback may block: that stops reading the socket, which is how buffer backpressure
// reaches the broker. Start/Stop from the owning thread; the accessors from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/mqtt_reconnect.h"
#include "common/config.h"
#include "common/heartbeat.h"
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

  // Sets up the client and starts the network thread, which connects and keeps
  // reconnecting. An unreachable or failing broker is not an error here; only a client
  // that cannot be set up (credentials, TLS files) is.
  Status Start();
  // Disconnects and joins the network thread (within ~100 ms unless the handler is
  // blocked); no handler call runs after it returns.
  void Stop();

  // Any thread: the subscriptions become `topics` on the same session (no reconnect, no
  // clean start): the network thread unsubscribes removed filters and subscribes new or
  // changed ones at its next turn (within ~100 ms), or at the next connection.
  void SetTopics(std::vector<TopicSpec> topics);

  bool connected() const { return connected_; }
  // True once the broker has acknowledged (SUBACK) every subscription of the current
  // connection; false again when it ends. A filter the broker refuses is logged and counts
  // as answered.
  bool subscribed() const { return subscribed_; }
  // When the network (ingest) thread last went round its loop: at least every ~100 ms while
  // connected, every second while waiting to reconnect. A handler blocked by buffer
  // backpressure holds it (see GroupCommitter::producer_waiting).
  std::chrono::steady_clock::time_point last_progress() const { return progress_.last(); }
  // Successful connections (CONNACK accepted) since Start.
  uint64_t connects() const { return connects_; }
  // Connection attempts that failed (no connection, TLS failure, refusal, timeout).
  uint64_t connect_failures() const { return connect_failures_; }
  // Why the source is not connected ("" while connected), with a hint where one helps.
  std::string not_connected_reason() const;

 private:
  struct Attempt;  // what one connection attempt saw (network thread only)

  void Run();
  // One connection attempt and, if it connects, its whole life. Returns what ended it.
  Attempt ConnectAndServe();
  void ServeUntilClosed(Attempt* attempt);
  // Reads the packets already in the socket without a select() each; *err gets errno.
  // socket_buffered: a SocketBuffer is attached to the socket (no TLS).
  int ReadBurst(bool socket_buffered, int* err);
  void Subscribe();
  // Network thread: takes a SetTopics change, if any; while connected, (un)subscribes the
  // difference. Returns true if topics_ changed.
  bool ApplyPendingTopics(bool connected);
  // Counts and logs a failure (or a lost connection); returns the wait before the next try.
  std::chrono::milliseconds OnAttemptEnded(const Attempt& attempt);
  void SetNotConnectedReason(std::string reason);
  bool Stopping();
  // Waits `delay` or until Stop; false if stopping.
  bool WaitBeforeRetry(std::chrono::milliseconds delay);

  static void OnConnect(mosquitto* mosq, void* self, int rc, int flags);
  static void OnDisconnect(mosquitto* mosq, void* self, int rc);
  static void OnSubscribe(mosquitto* mosq, void* self, int mid, int qos_count,
                          const int* granted_qos);
  // Beats the heartbeat (and is where the stall test hook bites). Network thread only.
  void Beat();
  static void OnMessage(mosquitto* mosq, void* self, const ::mosquitto_message* message);
  static void OnLog(mosquitto* mosq, void* self, int level, const char* text);

  const MqttSourceSection& config_;
  MessageHandler handler_;
  mosquitto* mosq_ = nullptr;
  std::thread thread_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> subscribed_{false};
  Heartbeat progress_;
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> connect_failures_{0};

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                                 // guarded by mu_
  std::string not_connected_reason_;                      // guarded by mu_
  std::optional<std::vector<TopicSpec>> pending_topics_;  // guarded by mu_

  // Network thread only: the subscriptions (config_.topics until SetTopics).
  std::vector<TopicSpec> topics_;
  // Network thread only: filled by the libmosquitto callbacks during an attempt.
  int connack_rc_ = -1;             // -1: no CONNACK yet
  std::string library_error_;       // the first error libmosquitto logged while connecting
  uint64_t failures_in_a_row_ = 0;  // failed attempts since the last connection
  uint64_t messages_ = 0;           // PUBLISH packets delivered (network thread)
  size_t subacks_pending_ = 0;      // subscriptions of this connection not yet acknowledged
  std::chrono::steady_clock::time_point connected_at_;  // of the current connection
  ReconnectBackoff backoff_;
  FailureLogLimiter log_limiter_;
};

}  // namespace tidegate::agent
