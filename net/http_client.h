// SPDX-License-Identifier: Apache-2.0
// HttpClient: POSTs to one http:// or https:// url over cpp-httplib on one kept-alive
// connection, verifying an https server against tls.ca_file (the system's CAs when empty)
// and its name against the url's host with OpenSSL's own check (subjectAltName, no common
// name fallback when one is present, as libcurl did), and presenting tls.cert_file/key_file
// when set. Used by one thread at a time; Stop() is callable from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/config.h"
#include "common/status.h"
#include "net/http_url.h"

namespace tidegate::net {

struct HttpClientOptions {
  TlsSection tls{};
  std::chrono::milliseconds connect_timeout{10'000};  // TCP connect, and the TLS handshake
  // Bounds each wait for the socket (a write, a read), and no more than what is left until
  // the POST's deadline when it has one.
  std::chrono::milliseconds io_timeout{30'000};
};

// One POST: the body comes from `body` (called with the offset to continue from, as cpp-
// httplib does), the answer's body goes to `receive`. Either returning false cancels.
// `deadline` caps the connect and every socket wait of an attempt to the time left when it
// starts (cpp-httplib has no deadline for a whole request: the caller's provider and
// receiver check it between pieces, and a receiver trickling its headers a byte per wait
// could still hold an attempt longer).
struct HttpPost {
  httplib::Headers headers;
  size_t content_length = 0;
  httplib::ContentProvider body;
  httplib::ContentReceiverWithProgress receive;
  // Bounds every socket wait, and the body and receive callbacks are not called past it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct HttpAnswer {
  httplib::Error error = httplib::Error::Success;  // Success: `status` and `headers` are set
  int status = 0;
  httplib::Headers headers;
  long verify_result = 0;  // OpenSSL's X509_V_* of the server certificate, after a TLS error
  bool retried = false;    // a reused connection had died and the POST went again on a new one
};

class HttpClient {
 public:
  // kInvalidArgument for a bad url or a client certificate/key that cannot be loaded.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view url,
                                                    const HttpClientOptions& options);

  // POSTs to the url's path. A POST that fails on a kept-alive connection the server had
  // closed (it answered nothing) goes once more on a fresh connection when `may_retry()`
  // (e.g. the caller's deadline has not passed): that is the connection's end, not a fault.
  // The body must be safe to send twice (the uplink's carries an Idempotency-Key).
  HttpAnswer Post(HttpPost& post, const std::function<bool()>& may_retry);

  // Makes a Post in progress fail soon (its socket is shut down) and every later one at
  // once. Thread-safe and does not block: cpp-httplib's stop() waits while a connection is
  // being made (up to connect_timeout for TCP, again for TLS), so it runs on a thread of its
  // own, joined by the destructor.
  void Stop();
  ~HttpClient();
  bool stopped() const { return stopped_.load(); }

  // OpenSSL's context of an https client (null for http://), for message callbacks.
  SSL_CTX* ssl_context() const;
  const HttpUrl& url() const { return url_; }

 private:
  HttpClient(HttpUrl url, HttpClientOptions options, std::unique_ptr<httplib::ClientImpl> client,
             httplib::SSLClient* ssl)
      : url_(std::move(url)), options_(std::move(options)), client_(std::move(client)), ssl_(ssl) {}
  void SetTimeouts(std::chrono::steady_clock::time_point deadline);
  HttpAnswer PostOnce(HttpPost& post);

  const HttpUrl url_;
  const HttpClientOptions options_;
  std::unique_ptr<httplib::ClientImpl> client_;
  httplib::SSLClient* const ssl_;  // client_ when https, else null
  std::atomic<bool> stopped_{false};
  std::thread stopper_;  // runs client_->stop(); started by the first Stop()
};

// A one-line description of a failed POST (the error, and the certificate problem when the
// server failed verification).
std::string DescribeHttpError(const HttpAnswer& answer);

}  // namespace tidegate::net
