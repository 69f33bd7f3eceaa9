// SPDX-License-Identifier: Apache-2.0
#include "tests/support/scripted_receiver.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <thread>

// cpp-httplib is third-party code we do not hold to our warning flags.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#include <httplib.h>
#pragma GCC diagnostic pop

namespace tidegate::testing {

struct ScriptedReceiver::Impl {
  std::unique_ptr<httplib::SSLServer> server;
  int port = 0;
  int collector_port = 0;  // set before serving
  std::string ca_cert;     // set before serving
  std::thread thread;

  mutable std::mutex mu;
  std::condition_variable cv;             // wakes hung requests on Stop
  bool stopping = false;                  // guarded by mu
  ScriptedReply standing;                 // guarded by mu
  std::deque<ScriptedReply> queued;       // guarded by mu
  std::vector<ReceivedRequest> requests;  // guarded by mu

  ScriptedReply NextReply() {
    std::lock_guard<std::mutex> lock(mu);
    if (queued.empty()) return standing;
    ScriptedReply reply = queued.front();
    queued.pop_front();
    return reply;
  }

  // Sends the request on to the collector; its status and body, or 502 if it is down.
  int ForwardToCollector(const httplib::Request& req, httplib::Response& res) const {
    httplib::SSLClient client("localhost", collector_port);
    client.set_ca_cert_path(ca_cert);
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(20, 0);
    httplib::Headers headers = {{"Content-Encoding", req.get_header_value("Content-Encoding")},
                                {"Idempotency-Key", req.get_header_value("Idempotency-Key")}};
    auto answer =
        client.Post("/v1/batches", headers, req.body, req.get_header_value("Content-Type"));
    if (!answer) {
      res.status = 502;
      res.set_content("collector unreachable", "text/plain");
      return res.status;
    }
    res.status = answer->status;
    res.set_content(answer->body, answer->get_header_value("Content-Type"));
    return res.status;
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    size_t index = 0;
    {  // recorded on arrival, so a hung request is visible while it hangs
      std::lock_guard<std::mutex> lock(mu);
      index = requests.size();
      requests.push_back({.at = std::chrono::steady_clock::now(),
                          .idempotency_key = req.get_header_value("Idempotency-Key"),
                          .body_bytes = req.body.size(),
                          .status = 0});
    }
    ScriptedReply reply = NextReply();
    int status = 0;
    if (reply.hang.count() > 0) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, reply.hang, [&] { return stopping; });
      if (reply.status == 0) reply.status = 504;
    }
    if (reply.status == 0) {
      status = ForwardToCollector(req, res);
    } else {
      res.status = reply.status;
      if (reply.retry_after_s >= 0) {
        res.set_header("Retry-After", std::to_string(reply.retry_after_s));
      }
      res.set_content(R"({"error":"scripted )" + std::to_string(reply.status) + R"("})",
                      "application/json");
      status = reply.status;
    }
    std::lock_guard<std::mutex> lock(mu);
    requests[index].status = status;
  }
};

ScriptedReceiver::ScriptedReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ScriptedReceiver::~ScriptedReceiver() { Stop(); }

Result<std::unique_ptr<ScriptedReceiver>> ScriptedReceiver::Bind() {
  std::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes to sockets the agent may have closed
  auto impl = std::make_unique<Impl>();
  // The certificate is loaded by Serve(): the test's certificates may not exist yet.
  impl->server = std::make_unique<httplib::SSLServer>([](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    return true;
  });
  if (!impl->server->is_valid()) return Internal("cannot create the receiver's TLS context");
  impl->port = impl->server->bind_to_any_port("127.0.0.1");
  if (impl->port <= 0) return Unavailable("the scripted receiver cannot bind a port");
  Impl* raw = impl.get();
  impl->server->Post("/v1/batches", [raw](const httplib::Request& req, httplib::Response& res) {
    raw->Handle(req, res);
  });
  return std::unique_ptr<ScriptedReceiver>(new ScriptedReceiver(std::move(impl)));
}

int ScriptedReceiver::port() const { return impl_->port; }

Status ScriptedReceiver::Serve(const std::string& cert, const std::string& key, int collector_port,
                               const std::string& ca_cert) {
  SSL_CTX* ctx = impl_->server->ssl_context();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    ERR_clear_error();
    return InvalidArgument("the scripted receiver cannot load " + cert + " / " + key);
  }
  impl_->collector_port = collector_port;
  impl_->ca_cert = ca_cert;
  httplib::SSLServer* server = impl_->server.get();
  impl_->thread = std::thread([server] { server->listen_after_bind(); });
  return Status::Ok();
}

void ScriptedReceiver::SetReply(const ScriptedReply& reply) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->standing = reply;
}

void ScriptedReceiver::Queue(const ScriptedReply& reply, int count) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < count; ++i) impl_->queued.push_back(reply);
}

std::vector<ReceivedRequest> ScriptedReceiver::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

void ScriptedReceiver::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) {
    // httplib ignores stop() until its accept loop runs: repeat until the thread is done.
    while (!impl_->server->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    impl_->server->stop();
    impl_->thread.join();
  }
}

}  // namespace tidegate::testing
