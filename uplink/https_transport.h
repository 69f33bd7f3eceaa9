// SPDX-License-Identifier: Apache-2.0
// HttpsTransport: POSTs batches to uplink.url over cpp-httplib (net::HttpClient), verifying
// the server against uplink.tls.ca_file and presenting a client certificate when configured.
// Keeps one kept-alive TLS connection for its lifetime. Used by one uplink sending thread;
// Interrupt() from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "common/config.h"
#include "common/status.h"
#include "net/http_client.h"
#include "net/send_pacer.h"
#include "uplink/tls_handshake_watch.h"
#include "uplink/transport.h"

namespace tidegate::uplink {

class HttpsTransport final : public Transport {
 public:
  static Result<std::unique_ptr<HttpsTransport>> Create(const UplinkSection& config);

  SendResult Send(const EncodedBatch& batch) override;
  // Shuts the connection of a send in progress down and fails every later send at once.
  void Interrupt() override;

 private:
  HttpsTransport(UplinkSection config, std::unique_ptr<net::HttpClient> client)
      : config_(std::move(config)),
        client_(std::move(client)),
        pacer_(config_.max_bytes_per_second) {}

  const UplinkSection config_;
  std::unique_ptr<net::HttpClient> client_;
  net::SendPacer pacer_;         // used with uplink.max_bytes_per_second only
  TlsHandshakeWatch handshake_;  // what the receiver said in the last send's handshake
};

// How many HttpsTransports (connections, each with its own sending thread) the uplink uses:
// up to kHttpsConnections, so several batches are on the wire while a backlog drains and the
// receiver lands one while it decodes the next; 1 with uplink.max_bytes_per_second, whose
// pacing (net::SendPacer) is per connection. Each costs a thread, a TLS session and two encoded
// batches in memory (its own and one prepared ahead, UplinkWorker::PipelineDepth). A batch
// taken in flight is never dropped by drop_oldest (the receiver may hold it already), so a
// connection also holds its batch's records against the buffer: the batches in flight (one
// per connection, plus the prepared ones) stay within an eighth of the buffer's data budget
// (buffer_data_bytes, 0 for unbounded), else fewer connections, at least 1. Not a config key:
// the SPEC has none for HTTPS. 6: a drain of 1,000,000 on 2 cores, six alternating pairs,
// landed 238,752 events/s with 4 connections and 2 batches ahead, 249,319 with 6 and 6 (the
// median; bench/README.md).
inline constexpr size_t kHttpsConnections = 6;
size_t HttpsConnections(const UplinkSection& config, uint64_t buffer_data_bytes);

// Classifies an HTTP status: 2xx acked; 408, 429 and 5xx retried; other 4xx rejected.
SendResult::Kind ClassifyHttpStatus(long status);

}  // namespace tidegate::uplink
