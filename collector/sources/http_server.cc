// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <system_error>
#include <thread>

// cpp-httplib is third-party code we do not hold to our warning flags.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#include <httplib.h>
#pragma GCC diagnostic pop

#include "collector/sources/peer_identity.h"

namespace tidegate::collector {
namespace {

// Connections served at once (see HttpServer::Create).
constexpr size_t kWorkerThreads = 64;

// Run()'s progress, for a Stop() that races with it (httplib ignores stop() until its
// accept loop has started).
enum RunState : int { kNotStarted, kRunning, kFinished };

std::string OpenSslError() {
  unsigned long code = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  if (code == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Returns an empty string on success, else what went wrong.
std::string SetupTls(SSL_CTX& ctx, const HttpServerOptions& options) {
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, options.tls_cert.c_str()) != 1) {
    return "cannot load --tls-cert " + options.tls_cert + ": " + OpenSslError();
  }
  if (SSL_CTX_use_PrivateKey_file(&ctx, options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return "cannot load --tls-key " + options.tls_key + ": " + OpenSslError();
  }
  if (SSL_CTX_check_private_key(&ctx) != 1) {
    return "--tls-key " + options.tls_key + " does not match --tls-cert " + options.tls_cert;
  }
  if (options.client_ca.empty()) return {};
  if (SSL_CTX_load_verify_locations(&ctx, options.client_ca.c_str(), nullptr) != 1) {
    return "cannot load --client-ca " + options.client_ca + ": " + OpenSslError();
  }
  // The CA names sent in the handshake let clients with several certificates pick one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca.c_str());
  if (names != nullptr) SSL_CTX_set_client_CA_list(&ctx, names);
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // With client verification OpenSSL refuses to resume a session without a session id
  // context, with an "internal error" alert: every reconnect of a client that offers its
  // cached session (libcurl does, e.g. after httplib's keep-alive limit of 5 requests)
  // would fail once.
  static constexpr unsigned char kSessionContext[] = "tidegate-collector";
  SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return {};
}

// Requests one kept-alive connection may carry before the server closes it.
constexpr size_t kKeepAliveMaxRequests = 1000;

std::optional<uint64_t> ContentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  std::string value = req.get_header_value("Content-Length");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return n;
}

void Send(httplib::Response& res, const HttpReply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type.c_str());
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  BatchEndpoint* endpoint = nullptr;
  std::unique_ptr<httplib::Server> server;
  std::atomic<bool> stop_requested{false};
  std::atomic<int> run_state{kNotStarted};

  void Route();
  void HandleBatch(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader);
  void HandleBody(const httplib::Request& req, const std::string& key, std::string_view body,
                  httplib::Response& res);
};

void HttpServer::Impl::Route() {
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  server->Get("/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
    Send(res, endpoint->Stats());
  });
  server->Post("/v1/batches",
               [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) { HandleBatch(req, res, reader); });
  server->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("request remote={} method={} path={} status={} content_length={}",
                  req.remote_addr, req.method, req.path, res.status,
                  req.get_header_value("Content-Length"));
  });
  // Bounds what httplib itself buffers for routes without a streaming handler.
  server->set_payload_max_length(endpoint->limits().max_body_bytes);
  // httplib writes an answer's headers and body separately: with Nagle on, the body waits
  // for the client's delayed ACK (40 ms on Linux) and every batch round trip with it.
  server->set_tcp_nodelay(true);
  // httplib closes a kept-alive connection after 5 requests by default: an agent draining a
  // backlog would then pay a TLS handshake every 5 batches.
  server->set_keep_alive_max_count(kKeepAliveMaxRequests);
}

void HttpServer::Impl::HandleBatch(const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
  const std::string key = req.get_header_value("Idempotency-Key");
  std::optional<HttpReply> early =
      endpoint->CheckHeaders({req.get_header_value("Content-Type"),
                              req.get_header_value("Content-Encoding"), key, ContentLength(req)});
  // The body is read even when the headers already decided: httplib keeps the connection
  // alive, so unread bytes would be parsed as the next request, and closing with unread
  // data makes the kernel send RST before the client reads our answer. A declared length
  // above payload_max_length is skipped by httplib itself without buffering.
  const size_t max = endpoint->limits().max_body_bytes;
  std::string body;
  size_t received = 0;
  bool read_ok = reader([&](const char* data, size_t n) {
    received += n;
    if (!early && received <= max) body.append(data, n);
    return received <= 2 * max;  // a chunked body far over the limit is not worth draining
  });
  if (early) {
    Send(res, *early);
  } else if (received > max) {
    Send(res, endpoint->Reject(413, "body exceeds the limit of " + std::to_string(max) + " bytes"));
  } else if (!read_ok) {
    Send(res, endpoint->Reject(400, "could not read the request body"));
  } else {
    HandleBody(req, key, body, res);
  }
}

// With --client-ca the batch must come from a certificate naming its agent_id (SPEC).
void HttpServer::Impl::HandleBody(const httplib::Request& req, const std::string& key,
                                  std::string_view body, httplib::Response& res) {
  if (options.client_ca.empty()) {
    Send(res, endpoint->HandleBody(key, body));
    return;
  }
  std::vector<std::string> identities = PeerIdentities(req.ssl);
  Send(res, endpoint->HandleBody(key, body, &identities));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                       BatchEndpoint& endpoint) {
  // A peer that hangs up mid-response must not kill the process: with TLS, OpenSSL writes
  // with write(2), which raises SIGPIPE. Every socket server ignores it, process-wide.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->endpoint = &endpoint;
  if (options.tls_cert.empty() && options.tls_key.empty()) {
    impl->server = std::make_unique<httplib::Server>();
  } else {
    std::string tls_error;
    auto ssl = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
      tls_error = SetupTls(ctx, options);
      return tls_error.empty();
    });
    if (!ssl->is_valid()) {
      return InvalidArgument(tls_error.empty() ? "cannot create the TLS context" : tls_error);
    }
    impl->server = std::move(ssl);
  }
  // httplib serves a connection on one pool thread and holds the thread while the
  // connection idles between requests (keep_alive_timeout, 5 s by default). OpAMP agents
  // poll every few seconds on keep-alive connections: with the default pool (8 threads on a
  // small machine) 20 agents polling every 5 s held every thread, and the others' TLS
  // handshakes timed out (bench/config_push.py). A 1 s idle hold and a larger pool serve
  // such a fleet; an idle thread costs only its stack.
  impl->server->set_keep_alive_timeout(1);
  impl->server->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  impl->Route();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

Result<int> HttpServer::Bind() {
  const HttpServerOptions& o = impl_->options;
  errno = 0;
  int port = o.port;
  bool ok = true;
  if (port == 0) {
    port = impl_->server->bind_to_any_port(o.host);
    ok = port > 0;
  } else {
    ok = impl_->server->bind_to_port(o.host, port);
  }
  if (!ok) {
    int err = errno;
    return Unavailable(
        "cannot listen on " + o.host + ":" + std::to_string(o.port) +
        (err != 0 ? std::string(": ") + std::generic_category().message(err) : std::string()));
  }
  return port;
}

Status HttpServer::Run() {
  impl_->run_state.store(kRunning);
  bool ok = true;
  if (!impl_->stop_requested.load()) ok = impl_->server->listen_after_bind();
  impl_->run_state.store(kFinished);
  if (!ok && !impl_->stop_requested.load()) return IOError("the accept loop failed");
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_->stop_requested.exchange(true)) return;
  // Run() either saw the flag and will not listen, or is starting the accept loop: wait
  // until httplib reports it running, since its stop() is a no-op before that.
  while (impl_->run_state.load() == kRunning && !impl_->server->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->server->stop();
}

void HttpServer::ServeOpamp(OpampEndpoint& opamp) {
  Impl* impl = impl_.get();
  impl->server->Post(
      "/v1/opamp", [impl, &opamp](const httplib::Request& req, httplib::Response& res) {
        // httplib has read the body, bounded by payload_max_length; the endpoint bounds it again.
        if (impl->options.client_ca.empty()) {
          Send(res, opamp.Handle(req.get_header_value("Content-Type"), req.body));
          return;
        }
        std::vector<std::string> identities = PeerIdentities(req.ssl);
        Send(res, opamp.Handle(req.get_header_value("Content-Type"), req.body, &identities));
      });
}

bool HttpServer::tls() const { return !impl_->options.tls_cert.empty(); }

}  // namespace tidegate::collector
