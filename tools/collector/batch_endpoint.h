// SPDX-License-Identifier: Apache-2.0
// BatchEndpoint: what the collector answers on POST /v1/batches, GET /v1/stats and
// GET /healthz, independent of the HTTP library (http_server.cc adapts it to httplib).
// Status codes follow the agent's retry rules: 4xx other than 408/429 are permanent (the
// agent dead-letters the batch), 5xx are retried. Thread-safe: called from httplib's pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/collector/field_decryptor.h"
#include "tools/collector/landing_store.h"
#include "tools/collector/raw_archive.h"

namespace tidegate::collector {

inline constexpr char kBatchContentType[] = "application/vnd.tidegate.batch+flatbuffers";
inline constexpr size_t kDefaultMaxBodyBytes = size_t{16} << 20;
inline constexpr size_t kDefaultMaxDecompressedBytes = size_t{64} << 20;

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
  struct Limits {
    // Largest compressed body accepted (413 above). Bounds memory per in-flight request.
    size_t max_body_bytes = kDefaultMaxBodyBytes;
    // Largest decompressed batch accepted (400 above): the zip-bomb bound.
    size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes;
  };

  // `store` and `raw` (if given) must outlive the endpoint. With `raw` (serve --keep-raw),
  // every body that passes the size check is kept as received before it is decoded.
  // With `decryptor` (serve --recipient-key), encrypted fields are opened before landing.
  BatchEndpoint(LandingStore& store, Limits limits, const RawArchive* raw = nullptr,
                const FieldDecryptor* decryptor = nullptr);

  // Returns the rejection for a request whose headers already decide it (415 wrong
  // Content-Type or Content-Encoding, 413 declared length too large, 400 no
  // Idempotency-Key), or nullopt if the body should be read.
  std::optional<HttpReply> CheckHeaders(const BatchHeaders& headers);

  // Decompresses, verifies and lands a batch body: 200 landed or duplicate, 400 for a body
  // that can never be accepted, 500 for a storage error worth retrying (including a body
  // that --keep-raw could not keep: an audit copy must not silently miss batches).
  // client_identities (serve --client-ca): the names of the client's verified certificate;
  // a batch whose agent_id is not among them is refused with 403 and counted
  // (batches_forbidden). Null: no client certificates are required.
  HttpReply HandleBody(std::string_view idempotency_key, std::string_view body,
                       const std::vector<std::string>* client_identities = nullptr);

  // A 4xx rejection with a JSON reason; counted in batches_rejected. `reason` must not
  // contain payload bytes.
  HttpReply Reject(int status, std::string_view reason);

  // GET /v1/stats: persisted counters plus the in-memory rejection count.
  HttpReply Stats();

  const Limits& limits() const { return limits_; }

 private:
  LandingStore& store_;
  const Limits limits_;
  const RawArchive* raw_;              // null unless --keep-raw
  const FieldDecryptor* decryptor_;    // null unless --recipient-key
  std::atomic<int64_t> rejected_{0};   // since this process started
  std::atomic<int64_t> forbidden_{0};  // of those, 403 for a certificate of another agent
};

// Case-insensitive media type comparison ignoring parameters ("; charset=...").
bool MediaTypeIs(std::string_view header_value, std::string_view media_type);

}  // namespace tidegate::collector
