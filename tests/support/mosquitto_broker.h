// SPDX-License-Identifier: Apache-2.0
// MosquittoBroker: a real /usr/sbin/mosquitto (2.0) on 127.0.0.1, configured by a
// mosquitto.conf written into a test's directory, with its persistence database and log in
// that same directory so that Restart() keeps sessions and queued QoS 1/2 messages. Owns
// the broker process: destroying it kills the broker. Not thread-safe; use from one thread.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tests/support/process.h"

namespace tidegate::testing {

struct BrokerOptions {
  // Plain MQTT listener port. 0: a free port (and a retry on another if bind loses a race).
  int port = 0;
  // Save sessions, subscriptions and queued messages to <dir>/mosquitto.db (on Stop() and
  // every autosave_interval_s). Kill() loses what changed since the last autosave.
  bool persistence = true;
  int autosave_interval_s = 1;  // 0: save only on Stop(); large queues make each save costly
  // Per client, above the in-flight ones; 0 = unlimited. Mosquitto's own default is 1000,
  // which silently drops messages for an agent that was offline a while.
  int max_queued_messages = 1'000'000;
  // Outgoing QoS 1/2 messages in flight per client (for MQTT 3.1.1; v5 clients announce
  // their own receive maximum). 20 is mosquitto's default; 0 = unlimited.
  int max_inflight_messages = 20;
  // If set, a second listener on tls_port (0: a free port) speaks TLS with these PEM files;
  // with tls_require_client_cert a client certificate signed by tls_ca_file is required.
  std::string tls_cert_file = {};
  std::string tls_key_file = {};
  std::string tls_ca_file = {};
  bool tls_require_client_cert = false;
  int tls_port = 0;
  // With tls_require_client_cert: the client certificate's CN becomes the client's user name
  // (mosquitto's use_identity_as_username), which `pattern` lines of an ACL file match as %u.
  bool tls_use_identity_as_username = false;
  // If set, mosquitto's acl_file: every publish and every delivery is checked against it.
  // Mosquitto 2.0's ACL file never refuses a SUBSCRIBE; it drops denied messages instead.
  std::string acl_file = {};
  // Only without `users`: false refuses clients that have no user name (on the plain listener
  // all of them; on a TLS listener with tls_use_identity_as_username none with a certificate).
  bool allow_anonymous = true;
  // User names and passwords (written to <dir>/passwd with mosquitto_passwd). When set,
  // every listener requires one of them: anonymous clients are refused.
  std::vector<std::pair<std::string, std::string>> users = {};
  // Appended verbatim to mosquitto.conf (after everything above).
  std::string extra_config = {};
};

class MosquittoBroker {
 public:
  MosquittoBroker() = default;
  ~MosquittoBroker() = default;  // the Process member kills the broker
  MosquittoBroker(MosquittoBroker&&) = default;
  MosquittoBroker& operator=(MosquittoBroker&&) = default;

  // Writes <dir>/mosquitto.conf, starts mosquitto and waits (up to 10 s) until its
  // listeners accept connections. On failure the error carries the tail of its log.
  // REQUIRES: dir exists and is only used by this broker; the broker is not running.
  Status Start(const std::string& dir, const BrokerOptions& options = {});

  // SIGTERM, so the broker saves its persistence database, then waits for it to exit.
  // kInternal (with the log tail) if it did not exit cleanly within `timeout`.
  Status Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // SIGKILL: like a power cut for the broker. Persistence keeps only the last autosave.
  void Kill();

  // Stop() if running (a broker that was killed or died is just reaped), then Start() again
  // with the same directory, options and ports.
  Status Restart();

  bool Running() { return process_.Running(); }
  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  const std::string& dir() const { return dir_; }
  std::string ConfigPath() const { return dir_ + "/mosquitto.conf"; }
  std::string LogPath() const { return dir_ + "/mosquitto.log"; }
  std::string PasswordFilePath() const { return dir_ + "/passwd"; }
  Process& process() { return process_; }

  // The last `lines` lines of the broker's log and of its stdout/stderr, for messages.
  std::string LogTail(int lines = 40) const;

 private:
  Status StartOnce();
  Status WritePasswordFile() const;
  std::string ConfigText() const;

  std::string dir_;
  BrokerOptions options_;
  int port_ = 0;
  int tls_port_ = 0;
  Process process_;
};

}  // namespace tidegate::testing
