// SPDX-License-Identifier: Apache-2.0
// HttpsTransport: POSTs batches to uplink.url with libcurl, verifying the server against
// uplink.tls.ca_file and presenting a client certificate when configured. Keeps one curl
// handle (and so one kept-alive TLS connection) for its lifetime. Used by the uplink thread
// only; not thread-safe.
#pragma once

#include <curl/curl.h>

#include <atomic>
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

// Classifies an HTTP status: 2xx acked; 408, 429 and 5xx retried; other 4xx rejected.
SendResult::Kind ClassifyHttpStatus(long status);

}  // namespace tidegate::uplink
