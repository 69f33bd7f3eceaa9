// SPDX-License-Identifier: Apache-2.0
// MetricsServer: Prometheus text metrics on /metrics and a /healthz probe on
// agent.metrics_listen (loopback by default), served by cpp-httplib on its own thread.
// The page is rendered by a callback so this file knows nothing of the pipeline. Metrics
// carry counts and names only, never field values.
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
  using Healthy = std::function<bool(std::string* why)>;

  MetricsServer(Render render, Healthy healthy);
  ~MetricsServer();

  // listen is "HOST:PORT"; port 0 picks a free port (see port()).
  Status Start(const std::string& listen);
  void Stop();
  int port() const { return port_; }

 private:
  Render render_;
  Healthy healthy_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tidegate::agent
