// SPDX-License-Identifier: Apache-2.0
// BatchEndpoint: the HTTPS source's answers on POST /v1/batches, GET /v1/stats and
// GET /healthz, independent of the HTTP library (http_server.cc adapts it to httplib). It
// checks the HTTP framing and hands the body to the transport-independent BatchIntake,
// mapping its outcome to a status code following the agent's retry rules: 4xx other than
// 408/429 are permanent (the agent dead-letters the batch), 5xx are retried. Thread-safe:
// called from httplib's pool.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/intake/batch_intake.h"

namespace tidegate::collector {

inline constexpr char kBatchContentType[] = "application/vnd.tidegate.batch+flatbuffers";

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The request headers that decide a batch's fate before its body is read.
struct BatchHeaders {
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view idempotency_key;
  std::optional<uint64_t> content_length;  // absent for chunked bodies
};

class BatchEndpoint {
 public:
  using Limits = BatchIntake::Limits;

  // `intake` must outlive the endpoint; its limits bound the request bodies.
  explicit BatchEndpoint(BatchIntake& intake) : intake_(intake) {}

  // Returns the rejection for a request whose headers already decide it (415 wrong
  // Content-Type or Content-Encoding, 413 declared length too large, 400 no
  // Idempotency-Key), or nullopt if the body should be read.
  std::optional<HttpReply> CheckHeaders(const BatchHeaders& headers);

  // Hands the body to the intake and maps its outcome: 200 landed or duplicate, 413 too
  // large, 400 for a body that can never be accepted, 403 for a batch of an agent the
  // client certificate does not name, 500 for a storage error worth retrying.
  // client_identities (serve --client-ca): the names of the client's verified certificate.
  // Null: no client certificates are required.
  HttpReply HandleBody(std::string_view idempotency_key, std::string_view body,
                       const std::vector<std::string>* client_identities = nullptr);

  // A 4xx rejection with a JSON reason; counted in batches_rejected. `reason` must not
  // contain payload bytes.
  HttpReply Reject(int status, std::string_view reason);

  // GET /v1/stats: persisted counters plus the in-memory rejection counts, plus the fields
  // `extra` returns (`"name":value,...`, e.g. the MQTT source's counters).
  HttpReply Stats();
  // REQUIRES: called before the server runs.
  void set_extra_stats(std::function<std::string()> extra) { extra_stats_ = std::move(extra); }

  const Limits& limits() const { return intake_.limits(); }

 private:
  BatchIntake& intake_;
  std::function<std::string()> extra_stats_;  // empty: none
};

// Case-insensitive media type comparison ignoring parameters ("; charset=...").
bool MediaTypeIs(std::string_view header_value, std::string_view media_type);

}  // namespace tidegate::collector
