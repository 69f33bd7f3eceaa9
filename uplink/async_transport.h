// SPDX-License-Identifier: Apache-2.0
// AsyncTransport: a transport that keeps several batches on the wire and learns their fate
// later (MQTT v5: publish now, the collector's ack arrives on the response topic). Submit
// hands a batch over; Take returns the outcomes that arrived, in any order, keyed by batch
// id; the caller (UplinkWorker's sending thread) keeps each batch until its outcome and
// decides on republishing. Submit, Take and health are for that one thread; Interrupt and
// Wake may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "uplink/batch_encoder.h"
#include "uplink/transport.h"

namespace tidegate::uplink {

// An outcome for one batch: kAcked (landed or duplicate: delete), kRejected (dead-letter,
// with reason), kRetry (the receiver could not take it now: back off, republish).
struct Completion {
  std::string batch_id;
  SendResult result;
};

// The connection as the operator sees it.
struct TransportHealth {
  bool connected = false;
  bool peer_untrusted = false;       // the last attempt failed: broker certificate refused
  bool client_cert_refused = false;  // the last attempt failed: our certificate refused
  uint64_t untrusted_peer_failures = 0;
  uint64_t client_cert_refused_failures = 0;
  uint64_t connects = 0;             // successful connections so far
  std::string not_connected_reason;  // "" while connected
};

class AsyncTransport {
 public:
  virtual ~AsyncTransport() = default;
  // How many batches may be submitted and not yet completed at once (>= 1).
  virtual size_t max_inflight() const = 0;
  // Hands the batch to the network (the transport keeps no reference to it). Unavailable
  // while not connected: nothing was sent; submit it again later.
  virtual Status Submit(const EncodedBatch& batch) = 0;
  // The outcomes that arrived since the last call, waiting up to `wait` for the first one
  // unless interrupted or woken. May name batches no longer (or never) submitted.
  virtual std::vector<Completion> Take(std::chrono::milliseconds wait) = 0;
  // Makes a Take in progress, and every later one, return at once.
  virtual void Interrupt() = 0;
  // Makes a Take in progress (or the next one) return at once: there is work to do.
  virtual void Wake() = 0;
  virtual TransportHealth health() const = 0;
};

}  // namespace tidegate::uplink
