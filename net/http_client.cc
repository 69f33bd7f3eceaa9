// SPDX-License-Identifier: Apache-2.0
#include "net/http_client.h"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>

#include <algorithm>

namespace tidegate::net {
namespace {

bool IsIpAddress(const std::string& host) {
  unsigned char addr[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

// OpenSSL checks the name during verification (X509_V_ERR_HOSTNAME_MISMATCH), which
// cpp-httplib reads back after the handshake; its own looser check still runs after it.
void VerifyHostName(SSL_CTX* ctx, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  if (IsIpAddress(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
}

// Errors that a connection closed by the server (idle timeout, its keep-alive limit) gives.
bool MayBeClosedConnection(httplib::Error error) {
  return error == httplib::Error::Read || error == httplib::Error::Write ||
         error == httplib::Error::Unknown;
}

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view url,
                                                       const HttpClientOptions& options) {
  TG_ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  std::unique_ptr<httplib::ClientImpl> client;
  httplib::SSLClient* ssl = nullptr;
  if (parsed.tls) {
    auto tls = std::make_unique<httplib::SSLClient>(parsed.host, parsed.port, options.tls.cert_file,
                                                    options.tls.key_file);
    // Invalid when the client certificate or key did not load: every Post then fails (and
    // is retried) as libcurl's did, rather than the agent refusing to start.
    if (tls->is_valid()) {
      VerifyHostName(tls->ssl_context(), parsed.host);
      if (!options.tls.ca_file.empty()) tls->set_ca_cert_path(options.tls.ca_file);
    }
    tls->enable_server_certificate_verification(true);
    ssl = tls.get();
    client = std::move(tls);
  } else {
    client = std::make_unique<httplib::ClientImpl>(parsed.host, parsed.port);
  }
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // headers and body are separate writes
  client->set_decompress(false);  // answers are small and not trusted
  client->set_follow_location(false);
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::move(parsed), options, std::move(client), ssl));
}

void HttpClient::SetTimeouts(std::chrono::steady_clock::time_point deadline) {
  using std::chrono::milliseconds;
  milliseconds io = options_.io_timeout;
  if (deadline != std::chrono::steady_clock::time_point::max()) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    io = std::clamp(left, milliseconds(1), io);
  }
  client_->set_connection_timeout(std::min(io, options_.connect_timeout));
  client_->set_read_timeout(io);
  client_->set_write_timeout(io);
}

SSL_CTX* HttpClient::ssl_context() const { return ssl_ ? ssl_->ssl_context() : nullptr; }

void HttpClient::Stop() {
  if (stopped_.exchange(true)) return;
  stopper_ = std::thread([this] { client_->stop(); });
}

HttpClient::~HttpClient() {
  if (stopper_.joinable()) stopper_.join();
}

HttpAnswer HttpClient::Post(HttpPost& post, const std::function<bool()>& may_retry) {
  const bool reused = client_->is_socket_open() > 0;
  HttpAnswer answer = PostOnce(post);
  if (answer.error == httplib::Error::Success || !reused || answer.status != 0 ||
      !MayBeClosedConnection(answer.error) || stopped_.load() || !may_retry()) {
    return answer;
  }
  answer = PostOnce(post);
  answer.retried = true;
  return answer;
}

HttpAnswer HttpClient::PostOnce(HttpPost& post) {
  HttpAnswer answer;
  if (stopped_.load()) {
    answer.error = httplib::Error::Canceled;
    return answer;
  }
  if (ssl_ != nullptr && !ssl_->is_valid()) {
    answer.error = httplib::Error::SSLLoadingCerts;
    return answer;
  }
  SetTimeouts(post.deadline);
  httplib::Request req;
  req.method = "POST";
  req.path = url_.path;
  req.headers = post.headers;
  req.content_length_ = post.content_length;
  // Each piece of the body and of the answer is refused once the deadline has passed, so a
  // receiver reading or answering a byte per socket wait cannot hold the POST beyond it.
  const auto deadline = post.deadline;
  if (post.body) {
    req.content_provider_ = [&post, deadline](size_t offset, size_t length,
                                              httplib::DataSink& sink) {
      return std::chrono::steady_clock::now() < deadline && post.body(offset, length, sink);
    };
  }
  if (post.receive) {
    req.content_receiver = [&post, deadline](const char* data, size_t n, uint64_t offset,
                                             uint64_t total) {
      return post.receive(data, n, offset, total) && std::chrono::steady_clock::now() < deadline;
    };
  }
  int status = 0;  // set once the status line and headers have arrived
  req.response_handler = [&status](const httplib::Response& res) {
    status = res.status;
    return true;
  };
  httplib::Response res;
  const bool ok = client_->send(req, res, answer.error);
  if (ok) {
    answer.error = httplib::Error::Success;
    answer.status = res.status;
    answer.headers = std::move(res.headers);
  } else {
    answer.status = status;
    if (ssl_ != nullptr) answer.verify_result = ssl_->get_openssl_verify_result();
  }
  return answer;
}

std::string DescribeHttpError(const HttpAnswer& answer) {
  std::string text = httplib::to_string(answer.error);
  if (answer.error == httplib::Error::SSLServerVerification && answer.verify_result != 0) {
    text += ": ";
    text += X509_verify_cert_error_string(answer.verify_result);
  } else if (answer.error == httplib::Error::SSLLoadingCerts) {
    text += " (the client certificate, its key or the CA file could not be loaded)";
  }
  return text;
}

}  // namespace tidegate::net
