// SPDX-License-Identifier: Apache-2.0
// MetricsServer: Prometheus text metrics on /metrics, the liveness probe /healthz and the
// readiness probe /readyz on agent.metrics_listen (loopback by default), served by
// cpp-httplib on its own thread. The page and the probes' verdicts come from callbacks (see
// agent/health.h) so this file knows nothing of the pipeline. Metrics carry counts and names
// only, never field values; a probe answers 200 "ok" or 503 with its reasons.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace tidegate::agent {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  // True when the probe passes; otherwise *why says why (one line per reason).
  using Probe = std::function<bool(std::string* why)>;

  MetricsServer(Render render, Probe live, Probe ready);
  ~MetricsServer();

  // listen is "HOST:PORT"; port 0 picks a free port (see port()).
  Status Start(const std::string& listen);
  void Stop();
  int port() const { return port_; }

 private:
  Render render_;
  Probe live_;
  Probe ready_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tidegate::agent
