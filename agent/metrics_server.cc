// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#include <httplib.h>
#pragma GCC diagnostic pop

#include "common/thread_name.h"

namespace tidegate::agent {

namespace {

constexpr size_t kWorkers = 2;

// Answers a probe: 200 "ok", or 503 with the reasons (ending in a newline).
void Answer(const MetricsServer::Probe& probe, httplib::Response& res) {
  std::string why;
  const bool ok = probe(&why);
  res.status = ok ? 200 : 503;
  if (!ok && (why.empty() || why.back() != '\n')) why += '\n';
  res.set_content(ok ? "ok\n" : why, "text/plain");
}

}  // namespace

MetricsServer::MetricsServer(Render render, Probe live, Probe ready)
    : render_(std::move(render)), live_(std::move(live)), ready_(std::move(ready)) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("metrics_listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return InvalidArgument("metrics_listen port is not a number: " + listen);
  }
  server_ = std::make_unique<httplib::Server>();
  // Two workers, not httplib's eight (one thread each, idle nearly always), and no keep-alive:
  // a scraper holding its connection open would otherwise keep a worker from the probes.
  server_->new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  server_->set_keep_alive_max_count(1);
  // httplib's default adds SO_REUSEPORT, with which a second agent binds the same port and
  // scrapes alternate between the two. SO_REUSEADDR alone still allows a quick restart.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_(), "text/plain; version=0.0.4");
  });
  server_->Get("/healthz",
               [this](const httplib::Request&, httplib::Response& res) { Answer(live_, res); });
  server_->Get("/readyz",
               [this](const httplib::Request&, httplib::Response& res) { Answer(ready_, res); });
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    const int err = errno;
    return Unavailable("cannot listen for metrics on " + listen + ": " +
                       std::generic_category().message(err) +
                       (err == EADDRINUSE ? " (another agent or program has it)" : ""));
  }
  thread_ = std::thread([this] {
    NameThisThread("tg-metrics");
    server_->listen_after_bind();
  });
  return Status::Ok();
}

void MetricsServer::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace tidegate::agent
