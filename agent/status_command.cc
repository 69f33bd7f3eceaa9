// SPDX-License-Identifier: Apache-2.0
#include "agent/status_command.h"

#include <iostream>
#include <string>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#include <httplib.h>
#pragma GCC diagnostic pop

#include "agent/status_report.h"

namespace tidegate::agent {
namespace {

constexpr time_t kTimeoutSeconds = 3;

// Where to connect for a listener bound to HOST:PORT: a wildcard address is reached on loopback.
bool SplitListen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  try {
    *port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return false;
  }
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty() || *host == "0.0.0.0") *host = "127.0.0.1";
  if (*host == "::") *host = "::1";
  return *port > 0;
}

std::string Why(httplib::Error error) {
  if (error == httplib::Error::Connection) return " (nothing listens there)";
  if (error == httplib::Error::Read || error == httplib::Error::ConnectionTimeout) {
    return " (no answer within " + std::to_string(kTimeoutSeconds) + " s)";
  }
  return " (" + httplib::to_string(error) + ")";
}

}  // namespace

int StatusCommand(const Config& config) {
  const std::string& listen = config.agent.metrics_listen;
  if (listen.empty()) {
    std::cerr << "tidegate status: metrics are off in this config (agent.metrics_listen is "
                 "empty), so a running agent cannot be asked; set it and restart the agent\n";
    return kStatusNoAgent;
  }
  std::string host;
  int port = 0;
  if (!SplitListen(listen, &host, &port)) {
    std::cerr << "tidegate status: agent.metrics_listen is not HOST:PORT with a fixed port: "
              << listen << "\n";
    return kStatusNoAgent;
  }
  httplib::Client client(host, port);
  client.set_connection_timeout(kTimeoutSeconds);
  client.set_read_timeout(kTimeoutSeconds);
  httplib::Result page = client.Get("/metrics");
  if (!page || page->status != 200) {
    std::cerr << "tidegate status: no agent answers on " << listen
              << (page ? " (HTTP " + std::to_string(page->status) + ")" : Why(page.error()))
              << ": it is not running, is still starting, or runs with another config\n";
    return kStatusNoAgent;
  }
  Result<std::vector<MetricSample>> samples = ParseMetricsText(page->body);
  if (!samples.ok()) {
    std::cerr << "tidegate status: what answers on " << listen
              << " is not a tidegate agent: " << samples.status().message() << "\n";
    return kStatusNoAgent;
  }
  httplib::Result ready = client.Get("/readyz");
  StatusInputs in{.listen = listen,
                  .samples = std::move(samples).value(),
                  .ready = ready && ready->status == 200,
                  .not_ready_reasons = ready ? ready->body : "no answer from /readyz\n"};
  std::cout << FormatStatus(in);
  return in.ready ? kStatusReady : kStatusNotReady;
}

}  // namespace tidegate::agent
