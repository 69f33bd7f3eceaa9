// SPDX-License-Identifier: Apache-2.0
// Publishing the simulator's messages to an MQTT broker, and writing the exact publish log.
// A message is logged only once the broker has acknowledged it (PUBACK for QoS 1, PUBCOMP
// for QoS 2; for QoS 0, once libmosquitto accepted it). Publish and Finish are called from
// one thread (the simulation loop); counters() from any thread. libmosquitto's network
// thread delivers acknowledgements and writes the log under the publisher's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "tools/sim/publish_log.h"

namespace tidegate::sim {

struct PublisherCounters {
  uint64_t submitted = 0;    // messages libmosquitto accepted (duplicates included)
  uint64_t confirmed = 0;    // of those, acknowledged (QoS 0: accepted); = lines logged
  uint64_t outstanding = 0;  // accepted and not yet acknowledged
  uint64_t reconnects = 0;   // connections re-established after a loss
};

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Publishes one message; with a log, its line is written on acknowledgement. Blocks while
  // too many messages await acknowledgement (bounding memory) and, at QoS 0, while the
  // connection is down (QoS 1/2 messages queue inside libmosquitto and are resent on
  // reconnect). Returns kUnavailable without publishing if the stop flag is raised while
  // blocked; any other error (oversized payload, out of memory) is fatal for the run.
  // broken: the event's Breakage name ("" for a sound event), written to the log line.
  virtual Status Publish(const std::string& topic, const std::string& payload, bool duplicate,
                         std::string_view broken) = 0;

  // Waits up to timeout (or until the abort flag) for every outstanding acknowledgement,
  // then disconnects. Returns how many messages were never acknowledged; they are not in
  // the log. No call may follow.
  virtual uint64_t Finish(std::chrono::milliseconds timeout) = 0;

  virtual PublisherCounters counters() const = 0;
};

struct PublisherOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // required; the broker drops an older session with the same id
  int qos = 1;            // 0, 1 or 2
  // TLS: on when tls is set or any file is given. ca_file empty: the system's CAs
  // (/etc/ssl/certs). cert_file and key_file (PEM) go together: a client certificate.
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Credentials of the MQTT CONNECT; password only with a username.
  std::string username;
  std::string password;
  // Time allowed for the TCP connection and the broker's CONNACK at start.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // Messages libmosquitto keeps in flight at once. Higher means more throughput at QoS 1/2
  // (fewer round trips waited for) and more to resend after a reconnect.
  int max_inflight = 1000;
  // Unacknowledged messages (in flight plus queued in libmosquitto) before Publish blocks.
  size_t max_outstanding = 10000;
  PublishLog* log = nullptr;  // optional; must outlive the publisher
  // Raised (from any thread or a signal handler) to make a blocked Publish give up, and to
  // make Finish stop waiting. Both optional; they must outlive the publisher.
  const std::atomic<bool>* stop = nullptr;
  const std::atomic<bool>* abort = nullptr;
};

// Connects to the broker and starts libmosquitto's network thread; reconnects on its own
// after a connection loss. kUnavailable (with host, port and reason) if the broker cannot
// be reached or refuses the connection within connect_timeout. Only one publisher may exist
// at a time (it owns libmosquitto's global init).
Result<std::unique_ptr<Publisher>> ConnectMqttPublisher(const PublisherOptions& options);

}  // namespace tidegate::sim
