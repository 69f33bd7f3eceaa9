// SPDX-License-Identifier: Apache-2.0
// Transport: how an encoded batch leaves the gateway (HTTPS now; MQTT v5 later). The result
// follows Fluent Bit's OK/RETRY/ERROR: Acked (delete), Retry (keep, back off, honour `after`),
// Rejected (permanent: dead-letter the batch). Implementations are used by one uplink thread.
#pragma once

#include <chrono>
#include <string>

#include "uplink/batch_encoder.h"

namespace tidegate::uplink {

struct SendResult {
  enum class Kind { kAcked, kRetry, kRejected };
  Kind kind = Kind::kRetry;
  int http_status = 0;                 // 0 when no response arrived
  std::chrono::milliseconds after{0};  // Retry-After, when the receiver gave one
  std::string reason;                  // for logs and the dead-letter table; no payload data
  // The receiver's certificate failed verification (untrusted CA, wrong name, expired): an
  // alarm for the operator, though the batch is still kept and retried (the right
  // certificate may be deployed later).
  bool untrusted_peer = false;
  // The receiver refused our client certificate (none, another CA's, expired): an alarm
  // too; the batch is kept and retried until the right certificate is configured.
  bool client_cert_refused = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual SendResult Send(const EncodedBatch& batch) = 0;
  // Makes a Send in progress (or the next one) return kRetry soon; callable from any thread.
  virtual void Interrupt() = 0;
};

}  // namespace tidegate::uplink
