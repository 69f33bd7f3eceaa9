// SPDX-License-Identifier: Apache-2.0
// ScriptedReceiver: a TLS receiver for the agent's uplink that answers POST /v1/batches as a
// test scripts it (500, 503, 429 with Retry-After, 400, 413, or a hang before answering) and
// otherwise forwards the request unchanged to the real tidegate-collector over verified TLS,
// returning the collector's answer. The real collector therefore stays the only landing
// point, and this class only adds what a TCP-level fault proxy cannot: HTTP statuses inside
// TLS. It records every request (arrival time, Idempotency-Key, body size, status answered)
// so tests can check retry timing and batch-id stability. Built on cpp-httplib's SSLServer;
// requests are served from httplib's pool; every public method is thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

struct ScriptedReply {
  // 0: forward to the collector and answer what it answered.
  int status = 0;
  // When >= 0, a Retry-After header with this many seconds.
  int retry_after_s = -1;
  // Hold the request this long before answering; a hung request is never forwarded and is
  // answered with `status`, or 504 when that is 0 (the client has usually given up by then).
  std::chrono::milliseconds hang{0};
};

struct ReceivedRequest {
  std::chrono::steady_clock::time_point at{};  // when the request (headers and body) arrived
  std::string idempotency_key = {};
  size_t body_bytes = 0;
  int status = 0;  // what was answered (the collector's for a forwarded one); 0 until then
};

class ScriptedReceiver {
 public:
  // Creates the TLS server and binds it to 127.0.0.1 on a free port; nothing is served
  // before Serve(). kUnavailable if no port can be bound.
  static Result<std::unique_ptr<ScriptedReceiver>> Bind();
  ~ScriptedReceiver();
  ScriptedReceiver(const ScriptedReceiver&) = delete;
  ScriptedReceiver& operator=(const ScriptedReceiver&) = delete;

  int port() const;
  // Loads the server certificate and key, points forwarding at the collector on
  // 127.0.0.1:collector_port (verified against ca_cert, as "localhost") and starts serving.
  // kInvalidArgument if the certificate or key cannot be loaded.
  Status Serve(const std::string& cert, const std::string& key, int collector_port,
               const std::string& ca_cert);

  // Every request from now on gets `reply` (the default {} forwards everything).
  void SetReply(const ScriptedReply& reply);
  // The next `count` requests get `reply`; then the standing reply applies again.
  void Queue(const ScriptedReply& reply, int count = 1);
  std::vector<ReceivedRequest> Requests() const;

  // Stops serving (releasing hung requests) and joins the server thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit ScriptedReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidegate::testing
