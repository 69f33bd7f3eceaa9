// SPDX-License-Identifier: Apache-2.0
// UplinkWorker: the uplink, threads in a pipeline. The preparing thread resends batches left
// in flight by an earlier run (same id, same records), then repeatedly takes the oldest
// records of the highest priority not yet in flight, records the batch as in flight and
// encodes it, up to PipelineDepth() batches ahead; one sending thread per synchronous
// transport (each its own HTTPS connection) takes them in that order and sends each until the
// receiver acknowledges it (its records deleted) or permanently rejects it (dead-lettered).
// So reading and encoding the next batch overlaps the round trips, several batches can be on
// the wire at once, and acknowledgements may come back in any order: the buffer deletes
// exactly the acknowledged batch's range, and batch ids stay stable. The backlog is taken
// oldest first; with several senders a batch may land before an older one still being
// retried. Failures back off exponentially with full jitter, honouring Retry-After, and
// sends are paced to uplink.max_bytes_per_second (all attempts, body plus an estimate of the
// request's own overhead) so that a metered link is never used above its cap (the agent gives
// a capped uplink a single sender). Never blocks ingest: a slow or dead receiver only grows
// the backlog. Start/Stop/stats from the owning thread; stats are atomic.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/heartbeat.h"
#include "uplink/async_transport.h"
#include "uplink/batch_encoder.h"
#include "uplink/inflight_window.h"
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
  // An asynchronous transport (MQTT) only: batches published and awaiting their outcome,
  // republishes after an ack timeout (also counted in batches_retried), and the connection.
  std::atomic<uint64_t> inflight{0};
  std::atomic<uint64_t> ack_timeouts{0};
  std::atomic<uint64_t> late_acks{0};         // outcomes for batches not in flight: ignored
  static constexpr int kNoConnection = -1;    // a synchronous transport (HTTPS): per request
  std::atomic<int> connected{kNoConnection};  // 0 or 1 for an asynchronous transport
};

class UplinkWorker {
 public:
  // Batches read, recorded in flight and encoded ahead of those being sent: one per sender,
  // at least 2. Each is at most uplink.batch.max_bytes uncompressed (its encoding smaller),
  // so this bounds the memory the pipeline holds. The receiver's group commit answers several
  // senders at once, and each then finds a batch waiting instead of queueing behind the one
  // preparing thread (drain of 1,000,000 with 6 senders, single runs of 3 in one session:
  // 248,026 events/s with 4 ahead, 257,522 with 6; bench/README.md).
  static constexpr size_t kMinPipelineDepth = 2;
  static constexpr size_t PipelineDepth(size_t senders) {
    return std::max(kMinPipelineDepth, senders);
  }
  // Sending threads at most (one per Transport; more are left unused).
  static constexpr size_t kMaxSenders = 8;

  // store and the transports must outlive this object. With Transports one batch is on the
  // wire per transport, each sent by its own thread (HTTPS; REQUIRES: at least one); with an
  // AsyncTransport up to its max_inflight() (MQTT), each republished after
  // uplink.mqtt_ack_timeout without an outcome.
  UplinkWorker(buffer::SqliteStore& store, Transport& transport, const UplinkSection& config,
               std::string agent_id, Clock& clock, uint64_t rng_seed);
  UplinkWorker(buffer::SqliteStore& store, std::vector<Transport*> transports,
               const UplinkSection& config, std::string agent_id, Clock& clock, uint64_t rng_seed);
  UplinkWorker(buffer::SqliteStore& store, AsyncTransport& transport, const UplinkSection& config,
               std::string agent_id, Clock& clock, uint64_t rng_seed);
  ~UplinkWorker();

  void Start();

  // The agent's schemas[], for the columnar layout (BatchEncoder::SetSchemas).
  // REQUIRES: called before Start.
  void SetSchemas(const std::vector<SchemaSpec>& schemas) {
    schemas_ = schemas;
    encoder_->SetSchemas(schemas_);
  }
  // uplink.compression.dictionary, loaded (LoadUplinkDictionary); null: none. Rebind keeps
  // it; a config apply that changes the uplink section sets it again after Rebind.
  // REQUIRES: stopped.
  void SetDictionary(std::shared_ptr<const CompressionDictionary> dictionary);
  // Interrupts a send or wait in progress and joins the threads. Unacknowledged batches,
  // prepared or on the wire, stay recorded in flight for the next run.
  void Stop();

  // Points a stopped worker at another transport and uplink section (a live config apply):
  // the next Start() resends the batches left in flight, same ids and records, through it,
  // before any new one. Stats carry on. REQUIRES: stopped; a transport of the kind (Transport
  // or AsyncTransport) the worker was built with.
  void Rebind(std::vector<Transport*> transports, const UplinkSection& config);
  void Rebind(AsyncTransport& transport, const UplinkSection& config);

  const UplinkStats& stats() const { return stats_; }

  // The oldest of the threads' last turns round their loops (any thread may ask). All
  // wait in slices of at most kBeatEvery, also while idle or backing off; a send counts as
  // a turn until uplink.request_timeout has passed. So only a stuck thread falls behind.
  static constexpr std::chrono::milliseconds kBeatEvery{1'000};
  std::chrono::steady_clock::time_point last_progress() const;

 private:
  using Prepared = PreparedBatch;
  UplinkWorker(buffer::SqliteStore& store, std::vector<Transport*> sync, AsyncTransport* async,
               const UplinkSection& config, std::string agent_id, Clock& clock, uint64_t rng_seed);
  void RebindConfig(const UplinkSection& config);
  void PrepareLoop();
  // Sends with transports_[i], beating send_beats_[i].
  void SendLoop(size_t i);
  // The sending thread with an AsyncTransport (uplink_worker_async.cc).
  void AsyncSendLoop();
  // Moves prepared batches into the window while it has room.
  void FillWindow(InflightWindow& window);
  // Publishes every due batch the connection and bandwidth cap allow; false if stopped.
  bool PublishDue(InflightWindow& window);
  // Applies one outcome; false if stopped.
  bool Complete(InflightWindow& window, const Completion& completion);
  bool FinishBatch(Heartbeat& beat, const Prepared& batch, const SendResult& result);
  void MirrorHealth(const InflightWindow& window);
  bool Stopping();
  // Reads, records in flight and encodes the next batch; false if there is none yet (or it
  // could not be read or encoded: logged, and tried again on the next call).
  bool Prepare(Prepared* out);
  // Waits for room in (or a batch from) the pipeline; false if stopped first.
  bool WaitForRoom();
  bool Pop(Heartbeat& beat, Prepared* batch);
  // Sends one batch with transports_[i] until it is acked or rejected; false if stopped first.
  bool Deliver(size_t i, const Prepared& batch);
  // Waits until sender i may send: no other sender is probing a failing receiver. False if
  // stopped first.
  bool WaitForTurn(size_t i);
  // After sender i's attempt: a retry makes it the prober (unless another one is), an answer
  // ends its probe. Returns whether i is the prober: only the prober backs off; the others
  // wait for their turn (WaitForTurn) and resend as soon as the receiver has answered it.
  bool UpdateProber(size_t i, bool retry);
  // Next batch to encode: one left in flight by an earlier run (*resend true), or new
  // records once there are enough or they have lingered. False if there is nothing yet.
  bool NextBatch(buffer::BatchRange* range, std::vector<buffer::BufferedRecord>* records,
                 bool* resend);
  // The sealed data keys the records' encrypted values need.
  std::vector<buffer::SealedKeyEpoch> SealedKeysFor(
      const buffer::BatchRange& range, const std::vector<buffer::BufferedRecord>& records);
  // Sleeps up to d unless stopped, beating `beat` (the calling thread's); false if stopped.
  bool SleepFor(Heartbeat& beat, std::chrono::milliseconds d);
  // Beats a sending thread's heartbeat (and is where the stall test hook bites).
  void BeatSend(Heartbeat& beat);
  // Runs op until it succeeds or the worker stops (a store write that must not be lost).
  bool RetryStoreOp(Heartbeat& beat, const char* what, const std::function<Status()>& op);
  std::chrono::milliseconds NextBackoff();
  void ResetBackoff();
  // Waits until uplink.max_bytes_per_second allows the next send; false if stopped.
  bool WaitForBandwidth(Heartbeat& beat);
  // Charges a send of body_bytes that started at `start` against max_bytes_per_second.
  void ChargeBandwidth(std::chrono::steady_clock::time_point start, size_t body_bytes);
  void ReportFailure(const buffer::BatchRange& range, const SendResult& result,
                     std::chrono::milliseconds wait);
  // The alarm for a refused client certificate: first of a run, then every tenth.
  void ReportClientCertRefused(const buffer::BatchRange& range, const SendResult& result,
                               std::chrono::milliseconds wait, uint64_t failures);

  buffer::SqliteStore& store_;
  std::vector<Transport*> transports_;  // exactly one of transports_ and async_ is set
  AsyncTransport* async_;
  UplinkSection config_;  // changed only by Rebind, while stopped
  Clock& clock_;
  const std::string agent_id_;
  std::unique_ptr<BatchEncoder> encoder_;  // preparing thread only; replaced by Rebind
  std::vector<SchemaSpec> schemas_;        // kept across Rebind (schemas need a restart)
  std::shared_ptr<const CompressionDictionary> dictionary_;  // null: none
  std::vector<buffer::BatchRange> resend_;                   // preparing thread only
  // The records of the batch being prepared, kept across batches so that reading one reuses
  // the strings of the last (SqliteStore::ReadNext). Preparing thread only.
  std::vector<buffer::BufferedRecord> records_;
  UplinkStats stats_;
  Heartbeat prepare_beat_;  // beaten by the preparing thread
  // One per sending thread, beaten by it (a vector of pointers: Heartbeat does not move).
  // kMaxSenders of them, made once: a Rebind only changes how many are in use (senders_).
  std::vector<std::unique_ptr<Heartbeat>> send_beats_;
  std::atomic<size_t> senders_{0};

  // Shared by the sending threads: the backoff sequence and the bandwidth budget.
  std::mutex pace_mu_;
  Rng rng_;                                               // guarded by pace_mu_
  std::chrono::milliseconds backoff_;                     // guarded by pace_mu_
  std::chrono::steady_clock::time_point next_send_at_{};  // guarded by pace_mu_

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  // The sender whose batch the receiver last asked to retry, or kNoProber. While there is one,
  // only it sends: a struggling receiver sees one request at a time, as over one connection,
  // and a Retry-After holds back the whole uplink, not just one connection.
  static constexpr size_t kNoProber = SIZE_MAX;
  size_t prober_ = kNoProber;   // guarded by mu_
  std::deque<Prepared> ready_;  // guarded by mu_; at most PipelineDepth(senders_)
  std::thread prepare_thread_;
  std::vector<std::thread> send_threads_;
};

}  // namespace tidegate::uplink
