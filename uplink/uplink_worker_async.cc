// SPDX-License-Identifier: Apache-2.0
// UplinkWorker's sending thread with an AsyncTransport (MQTT): keeps up to max_inflight
// batches published and awaiting their outcome in an InflightWindow, publishes whatever is
// due (new, ack timed out, backoff over) as the connection and the bandwidth cap allow, and
// applies outcomes as they come, in any order. Each turn of the loop beats the heartbeat,
// so an uplink waiting for acks or for the broker is idle, not stuck.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "uplink/uplink_worker.h"

namespace tidegate::uplink {
namespace {

// While batches are due but the transport is not connected, look again this often (the
// transport also wakes the loop when it connects).
constexpr std::chrono::milliseconds kBlockedPoll{250};

int64_t MonotonicMs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool UplinkWorker::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

void UplinkWorker::AsyncSendLoop() {
  InflightWindow window(std::max<size_t>(1, async_->max_inflight()), config_.mqtt_ack_timeout);
  while (!Stopping()) {
    BeatSend(*send_beats_[0]);
    FillWindow(window);
    for (const Completion& early : window.TakeMatchedEarly()) {
      if (!Complete(window, early)) return;
    }
    if (!PublishDue(window)) return;
    MirrorHealth(window);
    std::chrono::milliseconds wait = kBeatEvery;
    if (auto deadline = window.NextDeadline()) {
      auto until = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock_.Monotonic());
      wait = std::clamp(until, std::chrono::milliseconds(0), kBeatEvery);
    }
    // Something due that could not go out: the transport is not connected.
    if (window.NextDue(clock_.Monotonic()) != nullptr) wait = kBlockedPoll;
    for (const Completion& completion : async_->Take(wait)) {
      if (!Complete(window, completion)) return;
    }
  }
}

void UplinkWorker::FillWindow(InflightWindow& window) {
  std::lock_guard<std::mutex> lock(mu_);
  bool took = false;
  while (window.HasRoom() && !ready_.empty()) {
    window.Add(std::move(ready_.front()), clock_.Monotonic());
    ready_.pop_front();
    took = true;
  }
  if (took) cv_.notify_all();
}

bool UplinkWorker::PublishDue(InflightWindow& window) {
  while (InflightWindow::Entry* entry = window.NextDue(clock_.Monotonic())) {
    if (!WaitForBandwidth(*send_beats_[0])) return false;
    const bool republish = entry->state == InflightWindow::State::kAwaitingAck;
    const EncodedBatch& encoded = entry->batch.encoded;
    const auto started = clock_.Monotonic();
    if (!async_->Submit(encoded).ok()) return true;  // not connected: stays due
    ChargeBandwidth(started, encoded.body.size());
    stats_.batches_sent++;
    stats_.bytes_sent += encoded.body.size();
    if (republish) {
      stats_.batches_retried++;
      stats_.ack_timeouts++;
      if (stats_.failing_since_ms.load() == UplinkStats::kNotFailing) {
        stats_.failing_since_ms = MonotonicMs(started);
      }
      spdlog::warn("uplink: batch {} not acknowledged within {} ms, published again (attempt {})",
                   encoded.batch_id, config_.mqtt_ack_timeout.count(), entry->publishes + 1);
    }
    window.Published(*entry, clock_.Monotonic());
    BeatSend(*send_beats_[0]);
  }
  return true;
}

bool UplinkWorker::Complete(InflightWindow& window, const Completion& completion) {
  InflightWindow::Entry* entry = window.Find(completion.batch_id);
  if (entry == nullptr) {
    // Late (acknowledged already: a republished batch acked twice) or early (queued by the
    // broker while we were away, for a batch not read back yet): kept for a while.
    stats_.late_acks++;
    spdlog::debug("uplink: outcome for batch {} not in flight, kept", completion.batch_id);
    window.RememberEarly(completion);
    return true;
  }
  const SendResult& result = completion.result;
  if (result.kind == SendResult::Kind::kRetry) {
    stats_.batches_retried++;
    if (stats_.failing_since_ms.load() == UplinkStats::kNotFailing) {
      stats_.failing_since_ms = MonotonicMs(clock_.Monotonic());
    }
    auto wait = std::max(NextBackoff(), result.after);
    ReportFailure(entry->batch.range, result, wait);
    window.BackOff(*entry, clock_.Monotonic() + wait);
    return true;
  }
  std::optional<PreparedBatch> batch = window.Remove(completion.batch_id);
  stats_.failing_since_ms = UplinkStats::kNotFailing;
  const bool ok = FinishBatch(*send_beats_[0], *batch, result);
  stats_.inflight = window.size();
  return ok;
}

void UplinkWorker::MirrorHealth(const InflightWindow& window) {
  const TransportHealth health = async_->health();
  stats_.inflight = window.size();
  stats_.connected = health.connected ? 1 : 0;
  stats_.untrusted_peer_failures = health.untrusted_peer_failures;
  stats_.client_cert_refused_failures = health.client_cert_refused_failures;
  stats_.peer_untrusted = health.peer_untrusted;
  stats_.client_cert_refused = health.client_cert_refused;
  if (!health.connected) {
    if (stats_.failing_since_ms.load() == UplinkStats::kNotFailing) {
      stats_.failing_since_ms = MonotonicMs(clock_.Monotonic());
    }
  } else if (window.empty()) {
    stats_.failing_since_ms = UplinkStats::kNotFailing;
  }
}

}  // namespace tidegate::uplink
