// SPDX-License-Identifier: Apache-2.0
// UplinkWorker: the uplink thread. It resends batches left in flight by an earlier run (same
// id, same records), then repeatedly takes the oldest records of the highest priority,
// records the batch as in flight, encodes it and sends it until the receiver acknowledges
// (records deleted) or permanently rejects it (dead-lettered). Failures back off
// exponentially with full jitter, honouring Retry-After, and sends are paced to
// uplink.max_bytes_per_second (all attempts, body plus an estimate of the request's own
// overhead) so that a metered link is never used above its cap. Never blocks ingest: a slow or dead
// receiver only grows the backlog. Start/Stop/stats from the owning thread; stats are atomic.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "common/config.h"
#include "uplink/batch_encoder.h"
#include "uplink/transport.h"

namespace tidegate::uplink {

struct UplinkStats {
  std::atomic<uint64_t> batches_sent{0};  // attempts, including retries
  std::atomic<uint64_t> batches_acked{0};
  std::atomic<uint64_t> batches_retried{0};
  std::atomic<uint64_t> batches_rejected{0};
  std::atomic<uint64_t> events_acked{0};
  std::atomic<uint64_t> bytes_sent{0};  // compressed body bytes, all attempts
  std::atomic<uint64_t> consecutive_failures{0};
  std::atomic<int> last_http_status{0};
  // Sends refused because the receiver's certificate did not verify, and whether the last
  // attempt was one of them (the alarm: cleared by the next acknowledged batch).
  std::atomic<uint64_t> untrusted_peer_failures{0};
  std::atomic<bool> peer_untrusted{false};
  // The same for sends where the receiver refused our client certificate.
  std::atomic<uint64_t> client_cert_refused_failures{0};
  std::atomic<bool> client_cert_refused{false};
  std::atomic<uint64_t> throttled_ms{0};  // time spent waiting for max_bytes_per_second
  // When the current run of failed sends began (Clock::Monotonic, ms since its epoch), or
  // kNotFailing: cleared by the next batch the receiver answers (acknowledged or rejected).
  // Readiness (/readyz) compares its age with a threshold.
  static constexpr int64_t kNotFailing = -1;
  std::atomic<int64_t> failing_since_ms{kNotFailing};
};

class UplinkWorker {
 public:
  // store and transport must outlive this object.
  UplinkWorker(buffer::SqliteStore& store, Transport& transport, const UplinkSection& config,
               std::string agent_id, Clock& clock, uint64_t rng_seed);
  ~UplinkWorker();

  void Start();
  // Interrupts a send or wait in progress and joins the thread. Unacknowledged batches stay
  // recorded in flight for the next run.
  void Stop();

  const UplinkStats& stats() const { return stats_; }

 private:
  void Run();
  // Sends one batch until it is acked or rejected; false if stopped first.
  bool Deliver(const buffer::BatchRange& range, const std::vector<buffer::BufferedRecord>& records);
  // Next batch to send: an in-flight one, or new records once there are enough or they
  // have lingered. False if there is nothing to send yet.
  bool NextBatch(buffer::BatchRange* range, std::vector<buffer::BufferedRecord>* records);
  // Sleeps up to d unless stopped; false if stopped.
  bool SleepFor(std::chrono::milliseconds d);
  // Runs op until it succeeds or the worker stops (a store write that must not be lost).
  bool RetryStoreOp(const char* what, const std::function<Status()>& op);
  std::chrono::milliseconds NextBackoff();
  // Waits until uplink.max_bytes_per_second allows the next send; false if stopped.
  bool WaitForBandwidth();
  // Charges a send of body_bytes that started at `start` against max_bytes_per_second.
  void ChargeBandwidth(std::chrono::steady_clock::time_point start, size_t body_bytes);
  void ReportFailure(const buffer::BatchRange& range, const SendResult& result,
                     std::chrono::milliseconds wait);
  // The alarm for a refused client certificate: first of a run, then every tenth.
  void ReportClientCertRefused(const buffer::BatchRange& range, const SendResult& result,
                               std::chrono::milliseconds wait, uint64_t failures);

  buffer::SqliteStore& store_;
  Transport& transport_;
  const UplinkSection config_;
  Clock& clock_;
  Rng rng_;  // used by the uplink thread only
  BatchEncoder encoder_;
  std::chrono::milliseconds backoff_;                     // uplink thread only
  std::vector<buffer::BatchRange> inflight_;              // uplink thread only
  std::chrono::steady_clock::time_point next_send_at_{};  // uplink thread only
  UplinkStats stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace tidegate::uplink
