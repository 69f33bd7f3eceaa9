// SPDX-License-Identifier: Apache-2.0
// HttpsTransport: POSTs batches to uplink.url with libcurl, verifying the server against
// uplink.tls.ca_file and presenting a client certificate when configured. Keeps one curl
// handle (and so one kept-alive TLS connection) for its lifetime. Used by the uplink thread
// only; not thread-safe.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "common/config.h"
#include "common/status.h"
#include "uplink/tls_handshake_watch.h"
#include "uplink/transport.h"

namespace tidegate::uplink {

class HttpsTransport final : public Transport {
 public:
  static Result<std::unique_ptr<HttpsTransport>> Create(const UplinkSection& config);

  SendResult Send(const EncodedBatch& batch) override;
  void Interrupt() override { interrupted_ = true; }

 private:
  struct CurlCleanup {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
  };
  explicit HttpsTransport(UplinkSection config) : config_(std::move(config)) {}
  Status Configure();

  const UplinkSection config_;
  std::unique_ptr<CURL, CurlCleanup> curl_;
  std::string response_;  // first bytes of the response body, for error messages
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::atomic<bool> interrupted_{false};
  TlsHandshakeWatch handshake_;  // what the receiver said in the last send's handshake
};

// How many HttpsTransports (connections, each with its own sending thread) the uplink uses:
// up to kHttpsConnections, so several batches are on the wire while a backlog drains and the
// receiver lands one while it decodes the next; 1 with uplink.max_bytes_per_second, whose
// pacing is per connection in libcurl. Each costs a thread, a TLS session and one encoded
// batch in memory. A batch taken in flight is never dropped by drop_oldest (the receiver may
// hold it already), so a connection also holds its batch's records against the buffer: the
// batches in flight (one per connection, plus the prepared ones) stay within an eighth of the
// buffer's data budget (buffer_data_bytes, 0 for unbounded), else fewer connections, at
// least 1. Not a config key: the SPEC has none for HTTPS.
inline constexpr size_t kHttpsConnections = 4;
size_t HttpsConnections(const UplinkSection& config, uint64_t buffer_data_bytes);

// Classifies an HTTP status: 2xx acked; 408, 429 and 5xx retried; other 4xx rejected.
SendResult::Kind ClassifyHttpStatus(long status);

}  // namespace tidegate::uplink
