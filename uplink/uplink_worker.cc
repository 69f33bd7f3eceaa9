// SPDX-License-Identifier: Apache-2.0
#include "uplink/uplink_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "common/test_stall.h"
#include "common/thread_name.h"
#include "uplink/batch_ready.h"

namespace tidegate::uplink {
namespace {

constexpr std::chrono::milliseconds kIdlePoll{20};
constexpr std::chrono::milliseconds kMaxSleep = std::chrono::hours(24);
// What a request costs on the wire beyond its body: request line and headers (~250 bytes),
// the status line and headers of the answer, TLS record framing. Only for pacing.
constexpr size_t kRequestOverheadBytes = 600;

int64_t MonotonicMs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

UplinkWorker::UplinkWorker(buffer::SqliteStore& store, Transport& transport,
                           const UplinkSection& config, std::string agent_id, Clock& clock,
                           uint64_t rng_seed)
    : UplinkWorker(store, std::vector<Transport*>{&transport}, nullptr, config, std::move(agent_id),
                   clock, rng_seed) {}

UplinkWorker::UplinkWorker(buffer::SqliteStore& store, std::vector<Transport*> transports,
                           const UplinkSection& config, std::string agent_id, Clock& clock,
                           uint64_t rng_seed)
    : UplinkWorker(store, std::move(transports), nullptr, config, std::move(agent_id), clock,
                   rng_seed) {}

UplinkWorker::UplinkWorker(buffer::SqliteStore& store, AsyncTransport& transport,
                           const UplinkSection& config, std::string agent_id, Clock& clock,
                           uint64_t rng_seed)
    : UplinkWorker(store, {}, &transport, config, std::move(agent_id), clock, rng_seed) {}

UplinkWorker::UplinkWorker(buffer::SqliteStore& store, std::vector<Transport*> sync,
                           AsyncTransport* async, const UplinkSection& config, std::string agent_id,
                           Clock& clock, uint64_t rng_seed)
    : store_(store),
      transports_(std::move(sync)),
      async_(async),
      config_(config),
      clock_(clock),
      agent_id_(std::move(agent_id)),
      encoder_(std::make_unique<BatchEncoder>(agent_id_, config.compression_level)),
      prepare_beat_(clock.Monotonic()),
      rng_(rng_seed),
      backoff_(config.retry_initial) {
  if (transports_.size() > kMaxSenders) transports_.resize(kMaxSenders);
  for (size_t i = 0; i < kMaxSenders; ++i) {
    send_beats_.push_back(std::make_unique<Heartbeat>(clock.Monotonic()));
  }
  senders_ = async_ != nullptr ? 1 : transports_.size();
}

std::chrono::steady_clock::time_point UplinkWorker::last_progress() const {
  auto oldest = prepare_beat_.last();
  const size_t senders = senders_.load();
  for (size_t i = 0; i < senders; ++i) oldest = std::min(oldest, send_beats_[i]->last());
  return oldest;
}

UplinkWorker::~UplinkWorker() { Stop(); }

void UplinkWorker::Rebind(std::vector<Transport*> transports, const UplinkSection& config) {
  if (transports_.empty()) return;  // never a sync worker made async
  transports_ = std::move(transports);
  if (transports_.size() > kMaxSenders) transports_.resize(kMaxSenders);
  // The heartbeats stay in place (last_progress reads them from any thread); a sender
  // taken back into use starts from now.
  for (size_t i = 0; i < transports_.size(); ++i) send_beats_[i]->Beat(clock_.Monotonic());
  senders_ = transports_.size();
  RebindConfig(config);
}

void UplinkWorker::Rebind(AsyncTransport& transport, const UplinkSection& config) {
  if (async_ != nullptr) async_ = &transport;
  RebindConfig(config);
}

void UplinkWorker::RebindConfig(const UplinkSection& config) {
  config_ = config;
  encoder_ = std::make_unique<BatchEncoder>(agent_id_, config.compression_level, dictionary_);
  encoder_->SetSchemas(schemas_);
  std::lock_guard<std::mutex> lock(pace_mu_);
  backoff_ = config.retry_initial;
  next_send_at_ = {};
}

void UplinkWorker::SetDictionary(std::shared_ptr<const CompressionDictionary> dictionary) {
  dictionary_ = std::move(dictionary);
  encoder_ = std::make_unique<BatchEncoder>(agent_id_, config_.compression_level, dictionary_);
  encoder_->SetSchemas(schemas_);
}

void UplinkWorker::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    ready_.clear();
  }
  prepare_thread_ = std::thread([this] {
    NameThisThread("tg-uplink");
    PrepareLoop();
  });
  for (size_t i = 0; i < senders_.load(); ++i) {
    send_threads_.emplace_back([this, i] {
      NameThisThread("tg-send-" + std::to_string(i));
      SendLoop(i);
    });
  }
}

void UplinkWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (Transport* transport : transports_) transport->Interrupt();
  if (async_ != nullptr) async_->Interrupt();
  if (prepare_thread_.joinable()) prepare_thread_.join();
  for (std::thread& sender : send_threads_) sender.join();
  send_threads_.clear();
  // What was prepared and not sent stays recorded in flight: the next run resends it.
  std::lock_guard<std::mutex> lock(mu_);
  ready_.clear();
}

bool UplinkWorker::SleepFor(Heartbeat& beat, std::chrono::milliseconds d) {
  // wait_for adds d to steady_clock's nanoseconds: an unchecked huge d would overflow. No
  // caller waits longer than uplink.retry.max or a Retry-After (both at most 1 h).
  // Real time, as before the waits were sliced: tests with a FakeClock do not advance it.
  d = std::min(d, kMaxSleep);
  const auto until = std::chrono::steady_clock::now() + d;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    beat.Beat(clock_.Monotonic());
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    const auto slice = std::min<std::chrono::steady_clock::duration>(until - now, kBeatEvery);
    cv_.wait_for(lock, slice, [&] { return stop_; });
  }
  return false;
}

void UplinkWorker::BeatSend(Heartbeat& beat) {
  TestStallPoint(StallPoint::kUplink);
  beat.Beat(clock_.Monotonic());
}

void UplinkWorker::ResetBackoff() {
  std::lock_guard<std::mutex> lock(pace_mu_);
  backoff_ = config_.retry_initial;
}

std::chrono::milliseconds UplinkWorker::NextBackoff() {
  // Full jitter: uniform in [backoff/2, backoff], then double up to retry_max.
  std::lock_guard<std::mutex> lock(pace_mu_);
  auto current = backoff_;
  backoff_ = backoff_ >= config_.retry_max / 2 ? config_.retry_max : backoff_ * 2;
  auto half = current.count() / 2;
  return std::chrono::milliseconds(
      half + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(half) + 1)));
}

bool UplinkWorker::WaitForBandwidth(Heartbeat& beat) {
  if (config_.max_bytes_per_second == 0) return true;
  std::chrono::milliseconds wait{0};
  {
    std::lock_guard<std::mutex> lock(pace_mu_);
    auto now = clock_.Monotonic();
    if (now >= next_send_at_) return true;
    wait = std::chrono::ceil<std::chrono::milliseconds>(next_send_at_ - now);
  }
  stats_.throttled_ms += static_cast<uint64_t>(wait.count());
  return SleepFor(beat, wait);
}

void UplinkWorker::ChargeBandwidth(std::chrono::steady_clock::time_point start, size_t body_bytes) {
  if (config_.max_bytes_per_second == 0) return;
  std::lock_guard<std::mutex> lock(pace_mu_);
  // A link idle for a while gives no credit: the budget restarts from this send.
  auto from = std::max(start, next_send_at_);
  auto cost = std::chrono::microseconds(
      static_cast<int64_t>(static_cast<double>(body_bytes + kRequestOverheadBytes) * 1e6 /
                           static_cast<double>(config_.max_bytes_per_second)));
  next_send_at_ = from + cost;
}

void UplinkWorker::ReportFailure(const buffer::BatchRange& range, const SendResult& result,
                                 std::chrono::milliseconds wait) {
  uint64_t failures = ++stats_.consecutive_failures;
  if (result.untrusted_peer) {
    stats_.untrusted_peer_failures++;
    // An alarm, not noise: logged on the first refusal of a run of them, then every tenth.
    if (!stats_.peer_untrusted.exchange(true) || failures % 10 == 0) {
      spdlog::error(
          "uplink: ALARM the receiver at {} presented a certificate that does not verify "
          "against uplink.tls ({}); batch {} kept, retry {} in {} ms",
          config_.url, result.reason, range.batch_id, failures, wait.count());
    }
    return;
  }
  stats_.peer_untrusted = false;
  if (result.client_cert_refused) {
    ReportClientCertRefused(range, result, wait, failures);
    return;
  }
  stats_.client_cert_refused = false;
  if (failures == 1 || failures % 10 == 0) {
    spdlog::warn("uplink: batch {} not delivered ({}), retry {} in {} ms", range.batch_id,
                 result.reason, failures, wait.count());
  }
}

void UplinkWorker::ReportClientCertRefused(const buffer::BatchRange& range,
                                           const SendResult& result, std::chrono::milliseconds wait,
                                           uint64_t failures) {
  stats_.client_cert_refused_failures++;
  if (!stats_.client_cert_refused.exchange(true) || failures % 10 == 0) {
    spdlog::error(
        "uplink: ALARM the receiver at {} refused our client certificate ({}; uplink.tls "
        "cert_file {}: missing, or not signed by a CA it trusts?); batch {} kept, retry {} in "
        "{} ms",
        config_.url, result.reason,
        config_.tls.cert_file.empty() ? "not set" : config_.tls.cert_file, range.batch_id, failures,
        wait.count());
  }
}

bool UplinkWorker::RetryStoreOp(Heartbeat& beat, const char* what,
                                const std::function<Status()>& op) {
  std::chrono::milliseconds wait(100);
  while (true) {
    Status status = op();
    if (status.ok()) return true;
    spdlog::error("uplink: {} failed, retrying: {}", what, status.ToString());
    if (!SleepFor(beat, wait)) return false;
    wait = std::min(wait * 2, std::chrono::milliseconds(5'000));
  }
}

void UplinkWorker::PrepareLoop() {
  auto loaded = store_.LoadInflight();
  if (loaded.ok()) {
    resend_ = std::move(loaded).value();
    if (!resend_.empty()) {
      spdlog::info("uplink: resending {} batch(es) left in flight", resend_.size());
    }
  } else {
    spdlog::error("uplink: cannot read in-flight batches: {}", loaded.status().ToString());
  }
  // Waits for room before reading, so at most PipelineDepth() batches wait behind those on
  // the wire (each recorded in flight).
  while (WaitForRoom()) {
    Prepared batch;
    if (!Prepare(&batch)) {
      if (!SleepFor(prepare_beat_, kIdlePoll)) return;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.push_back(std::move(batch));
      cv_.notify_all();
    }
    if (async_ != nullptr) async_->Wake();
  }
}

void UplinkWorker::SendLoop(size_t i) {
  if (async_ != nullptr) {
    AsyncSendLoop();
    return;
  }
  Prepared batch;
  while (Pop(*send_beats_[i], &batch)) {
    if (!Deliver(i, batch)) return;
  }
}

bool UplinkWorker::WaitForTurn(size_t i) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kBeatEvery,
                       [&] { return stop_ || prober_ == kNoProber || prober_ == i; })) {
    lock.unlock();
    BeatSend(*send_beats_[i]);
    lock.lock();
  }
  return !stop_;
}

bool UplinkWorker::UpdateProber(size_t i, bool retry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (retry && prober_ == kNoProber) prober_ = i;
  if (!retry && prober_ == i) {
    prober_ = kNoProber;
    cv_.notify_all();
  }
  return prober_ == i;
}

bool UplinkWorker::WaitForRoom() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kBeatEvery,
                       [&] { return stop_ || ready_.size() < PipelineDepth(senders_.load()); })) {
    prepare_beat_.Beat(clock_.Monotonic());
  }
  prepare_beat_.Beat(clock_.Monotonic());
  return !stop_;
}

bool UplinkWorker::Pop(Heartbeat& beat, Prepared* batch) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kBeatEvery, [&] { return stop_ || !ready_.empty(); })) {
    lock.unlock();
    BeatSend(beat);
    lock.lock();
  }
  if (stop_) return false;
  *batch = std::move(ready_.front());
  ready_.pop_front();
  cv_.notify_all();
  return true;
}

bool UplinkWorker::Prepare(Prepared* out) {
  bool resend = false;
  if (!NextBatch(&out->range, &records_, &resend)) return false;
  auto encoded = encoder_->Encode(out->range, records_, SealedKeysFor(out->range, records_));
  if (!encoded.ok()) {
    // Recorded in flight already: it stays first in line (resend_) and is encoded again.
    spdlog::error("uplink: {}", encoded.status().ToString());
    if (!resend) resend_.insert(resend_.begin(), out->range);
    (void)SleepFor(prepare_beat_, config_.retry_max);
    return false;
  }
  if (resend) resend_.erase(resend_.begin());
  out->encoded = std::move(encoded).value();
  out->records = records_.size();
  return true;
}

std::vector<buffer::SealedKeyEpoch> UplinkWorker::SealedKeysFor(
    const buffer::BatchRange& range, const std::vector<buffer::BufferedRecord>& records) {
  std::vector<buffer::SealedKeyEpoch> keys;
  for (const buffer::BufferedRecord& r : records) {
    uint64_t epoch = r.event.key_epoch;
    if (epoch == 0 ||
        std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return k.epoch == epoch; })) {
      continue;
    }
    auto sealed = store_.SealedKeyOf(epoch);
    if (!sealed.ok()) {
      // Without its key the receiver cannot open these values; send them anyway (they stay
      // opaque) rather than hold the whole backlog.
      spdlog::error("uplink: batch {}: {}", range.batch_id, sealed.status().ToString());
      continue;
    }
    keys.push_back(buffer::SealedKeyEpoch{
        .epoch = epoch, .sealed = std::move(sealed).value(), .created_at_ms = 0});
  }
  return keys;
}

bool UplinkWorker::NextBatch(buffer::BatchRange* range,
                             std::vector<buffer::BufferedRecord>* records, bool* resend) {
  if (!resend_.empty()) {
    *resend = true;
    *range = resend_.front();
    if (Status read = store_.ReadRange(*range, records); !read.ok()) {
      spdlog::error("uplink: reading batch {} failed: {}", range->batch_id, read.ToString());
      return false;
    }
    if (!records->empty()) return true;
    // Nothing left of it (acknowledged just before a crash): forget the batch.
    if (store_.Ack(*range).ok()) resend_.erase(resend_.begin());
    return false;
  }
  *resend = false;
  if (Status read = store_.ReadNext(config_.batch_max_events, config_.batch_max_bytes, records);
      !read.ok()) {
    spdlog::error("uplink: reading the buffer failed: {}", read.ToString());
    return false;
  }
  if (records->empty()) {
    records->shrink_to_fit();  // nothing buffered: the reused vector's memory goes back while idle
    return false;
  }
  // Linger on the age line: after a wall-clock step back, ingest times are in the future.
  const TimeReading now = store_.age_clock().Now();
  BatchFill fill{.records = records->size(),
                 .payload_bytes = 0,
                 .largest_record_bytes = 0,
                 .oldest_age_ms = records->front().event.age_ms};
  for (const buffer::BufferedRecord& r : *records) {
    fill.payload_bytes += r.event.payload.size();
    fill.largest_record_bytes =
        std::max<uint64_t>(fill.largest_record_bytes, r.event.payload.size());
  }
  if (!ReadyToSend(fill, config_, now.age_ms)) return false;  // let a fuller batch gather
  range->priority = records->front().event.priority;
  range->first_seq = records->front().seq;
  range->last_seq = records->back().seq;
  range->count = static_cast<uint32_t>(records->size());
  range->created_at_ms = now.wall_ms;
  range->batch_id = MakeBatchId(store_.buffer_id(), range->first_seq, range->last_seq);
  return RetryStoreOp(prepare_beat_, "recording the batch in flight",
                      [&] { return store_.MarkInflight(*range); });
}

bool UplinkWorker::Deliver(size_t i, const Prepared& batch) {
  const buffer::BatchRange& range = batch.range;
  const EncodedBatch& encoded = batch.encoded;
  Heartbeat& beat = *send_beats_[i];
  while (true) {
    BeatSend(beat);
    if (!WaitForTurn(i) || !WaitForBandwidth(beat)) return false;
    stats_.batches_sent++;
    stats_.bytes_sent += encoded.body.size();
    const auto started = clock_.Monotonic();
    // The transport gives up after uplink.request_timeout (its deadline covers connect and
    // transfer): a send that long is a turn of the loop, not a stall, so the watchdog's
    // threshold need not exceed the longest request_timeout (1 h).
    beat.Beat(started + config_.request_timeout);
    SendResult result = transports_[i]->Send(encoded);
    beat.Beat(clock_.Monotonic());
    const bool prober = UpdateProber(i, result.kind == SendResult::Kind::kRetry);
    ChargeBandwidth(started, encoded.body.size());
    stats_.last_http_status = result.http_status;
    if (result.kind != SendResult::Kind::kRetry) {
      stats_.failing_since_ms = UplinkStats::kNotFailing;
    } else if (stats_.failing_since_ms.load() == UplinkStats::kNotFailing) {
      stats_.failing_since_ms = MonotonicMs(started);
    }
    if (result.kind != SendResult::Kind::kRetry) return FinishBatch(beat, batch, result);
    stats_.batches_retried++;
    auto wait = prober ? std::max(NextBackoff(), result.after) : std::chrono::milliseconds(0);
    ReportFailure(range, result, wait);
    if (!SleepFor(beat, wait)) return false;
  }
}

bool UplinkWorker::FinishBatch(Heartbeat& beat, const Prepared& batch, const SendResult& result) {
  const buffer::BatchRange& range = batch.range;
  stats_.peer_untrusted = false;
  stats_.client_cert_refused = false;
  if (result.kind == SendResult::Kind::kAcked) {
    if (!RetryStoreOp(beat, "acknowledging the batch", [&] { return store_.Ack(range); })) {
      return false;
    }
    stats_.batches_acked++;
    stats_.events_acked += batch.records;
    if (stats_.consecutive_failures.exchange(0) > 0) {
      spdlog::info("uplink: receiver is back, batch {} acknowledged", range.batch_id);
    }
    ResetBackoff();
    return true;
  }
  spdlog::error("uplink: batch {} ({} records) rejected permanently, dead-lettered: {}",
                range.batch_id, batch.records, result.reason);
  if (!RetryStoreOp(beat, "dead-lettering the batch",
                    [&] { return store_.Reject(range, result.http_status, result.reason); })) {
    return false;
  }
  stats_.batches_rejected++;
  return true;
}

}  // namespace tidegate::uplink
