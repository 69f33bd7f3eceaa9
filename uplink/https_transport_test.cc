// SPDX-License-Identifier: Apache-2.0
#include "uplink/https_transport.h"

#include <catch2/catch.hpp>

using Kind = tidegate::uplink::SendResult::Kind;
using tidegate::uplink::ClassifyHttpStatus;

TEST_CASE("HTTP statuses map to ack, retry or reject as docs/guarantees.md says", "[uplink]") {
  CHECK(ClassifyHttpStatus(200) == Kind::kAcked);
  CHECK(ClassifyHttpStatus(204) == Kind::kAcked);
  CHECK(ClassifyHttpStatus(408) == Kind::kRetry);
  CHECK(ClassifyHttpStatus(429) == Kind::kRetry);
  CHECK(ClassifyHttpStatus(500) == Kind::kRetry);
  CHECK(ClassifyHttpStatus(503) == Kind::kRetry);
  CHECK(ClassifyHttpStatus(400) == Kind::kRejected);
  CHECK(ClassifyHttpStatus(413) == Kind::kRejected);
  CHECK(ClassifyHttpStatus(415) == Kind::kRejected);
  CHECK(ClassifyHttpStatus(301) == Kind::kRetry);
}

TEST_CASE("HTTPS connections keep the batches in flight within an eighth of the buffer",
          "[uplink]") {
  using tidegate::uplink::HttpsConnections;
  tidegate::UplinkSection config;
  config.batch_max_bytes = 1 << 20;
  constexpr uint64_t kMiB = 1 << 20;
  CHECK(HttpsConnections(config, 0) == tidegate::uplink::kHttpsConnections);  // unbounded
  CHECK(HttpsConnections(config, 200 * kMiB) == 6);  // 25 batches fit: the most connections
  CHECK(HttpsConnections(config, 80 * kMiB) == 5);   // 10 fit: 5 on the wire, 5 prepared
  CHECK(HttpsConnections(config, 40 * kMiB) == 2);   // 5 fit: 2 on the wire, 2 prepared
  CHECK(HttpsConnections(config, 24 * kMiB) == 1);   // 3 fit: 1 on the wire, 2 prepared
  CHECK(HttpsConnections(config, 1 * kMiB) == 1);    // a small buffer: one, as ever
  config.max_bytes_per_second = 40 << 10;
  CHECK(HttpsConnections(config, 200 * kMiB) == 1);  // the pacer is per connection
}

TEST_CASE("a receiver that is not listening is a retry with a reason", "[uplink]") {
  tidegate::UplinkSection config;
  config.url = "https://127.0.0.1:1/v1/batches";
  config.connect_timeout = std::chrono::milliseconds(500);
  auto transport = tidegate::uplink::HttpsTransport::Create(config);
  REQUIRE(transport.ok());
  tidegate::uplink::EncodedBatch batch;
  batch.batch_id = "b";
  batch.body = "x";
  auto result = (*transport)->Send(batch);
  CHECK(result.kind == Kind::kRetry);
  CHECK(result.http_status == 0);
  CHECK_FALSE(result.reason.empty());
}
