// SPDX-License-Identifier: Apache-2.0
// The uplink with an asynchronous transport (MQTT's shape) against a scripted fake (a
// unit-test fake; tests/integration/e2e_mqtt_uplink_test.cc runs real mosquitto): several
// batches on the wire at once, outcomes in any order, republish after the ack timeout with
// the same id and bytes, dead letters on rejected, backoff on retry, and a reconnect.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/support/temp_dir.h"
#include "uplink/uplink_worker.h"

namespace tidegate::uplink {
namespace {

using std::chrono::milliseconds;
using testing::TempDir;

// Records every Submit; the test answers with Complete(). Refuses submits while
// disconnected.
class FakeAsyncTransport final : public AsyncTransport {
 public:
  explicit FakeAsyncTransport(size_t max_inflight) : max_inflight_(max_inflight) {}
  size_t max_inflight() const override { return max_inflight_; }
  Status Submit(const EncodedBatch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!connected_) return Unavailable("not connected");
    submits_.push_back(batch.batch_id);
    bodies_[batch.batch_id].push_back(batch.body);
    cv_.notify_all();
    return Status::Ok();
  }
  std::vector<Completion> Take(milliseconds wait) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [&] { return interrupted_ || woken_ || !pending_.empty(); });
    woken_ = false;
    std::vector<Completion> out = std::move(pending_);
    pending_.clear();
    return out;
  }
  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }
  void Wake() override {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
    cv_.notify_all();
  }
  TransportHealth health() const override {
    std::lock_guard<std::mutex> lock(mu_);
    TransportHealth h;
    h.connected = connected_;
    return h;
  }

  void Complete(const std::string& id, SendResult::Kind kind, std::string reason = "") {
    std::lock_guard<std::mutex> lock(mu_);
    Completion c;
    c.batch_id = id;
    c.result.kind = kind;
    c.result.reason = std::move(reason);
    pending_.push_back(std::move(c));
    cv_.notify_all();
  }
  void SetConnected(bool connected) {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = connected;
    woken_ = true;
    cv_.notify_all();
  }
  // Waits (up to 10 s) until at least n submits were made; returns them.
  std::vector<std::string> WaitForSubmits(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return submits_.size() >= n; });
    return submits_;
  }
  std::vector<std::string> BodiesOf(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_[id];
  }

 private:
  const size_t max_inflight_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = true;     // guarded by mu_
  bool interrupted_ = false;  // guarded by mu_
  bool woken_ = false;        // guarded by mu_
  std::vector<Completion> pending_;
  std::vector<std::string> submits_;
  std::map<std::string, std::vector<std::string>> bodies_;
};

UplinkSection Config(milliseconds ack_timeout = milliseconds(60'000)) {
  UplinkSection config;
  config.transport = tidegate::Transport::kMqtt;
  config.batch_max_events = 10;
  config.batch_linger = Millis(0);
  config.retry_initial = Millis(1);
  config.retry_max = Millis(2);
  config.mqtt_ack_timeout = ack_timeout;
  return config;
}

std::unique_ptr<buffer::SqliteStore> OpenStoreWith(const std::string& dir, int events) {
  auto store = buffer::SqliteStore::Open(buffer::StoreOptions{.state_dir = dir});
  REQUIRE(store.ok());
  std::vector<Event> records;
  for (int i = 0; i < events; ++i) {
    Event e;
    e.topic = "devices/d/telemetry";
    e.device_id = "d";
    e.event_time_ms = 1000 + i;
    e.ingest_time_ms = 1000 + i;
    e.priority = 5;
    e.payload = R"({"n":)" + std::to_string(i) + "}";
    records.push_back(std::move(e));
  }
  REQUIRE((*store)->Append(records, {}, {}).ok());
  return std::move(store).value();
}

template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000 && !pred(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

TEST_CASE("an async uplink keeps max_inflight batches published and applies acks out of order",
          "[uplink][mqtt]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 60);  // six batches of 10
  FakeAsyncTransport transport(3);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  auto first = transport.WaitForSubmits(3);
  REQUIRE(first.size() == 3);
  // Three on the wire, none acknowledged: no fourth is published.
  std::this_thread::sleep_for(milliseconds(100));
  CHECK(transport.WaitForSubmits(3).size() == 3);
  CHECK(worker.stats().inflight.load() == 3);
  const std::string id = store->buffer_id();
  CHECK(first == std::vector<std::string>{MakeBatchId(id, 1, 10), MakeBatchId(id, 11, 20),
                                          MakeBatchId(id, 21, 30)});
  transport.Complete(first[2], SendResult::Kind::kAcked);  // the newest first
  REQUIRE(transport.WaitForSubmits(4).size() == 4);
  transport.Complete(first[0], SendResult::Kind::kAcked);
  transport.Complete(first[1], SendResult::Kind::kAcked);
  transport.Complete(first[1], SendResult::Kind::kAcked);  // a late duplicate: ignored
  auto all = transport.WaitForSubmits(6);
  REQUIRE(all.size() == 6);
  for (size_t i = 3; i < 6; ++i) transport.Complete(all[i], SendResult::Kind::kAcked);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 60; }));
  worker.Stop();
  CHECK(worker.stats().batches_acked.load() == 6);
  CHECK(worker.stats().batches_sent.load() == 6);
  CHECK(worker.stats().late_acks.load() == 1);
  CHECK(store->Stats()->records == 0);
  CHECK(store->LoadInflight()->empty());
}

TEST_CASE("an unacknowledged batch is published again after the ack timeout, same id and bytes",
          "[uplink][mqtt]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 10);
  FakeAsyncTransport transport(2);
  UplinkWorker worker(*store, transport, Config(milliseconds(200)), "agent", RealClock(), 1);
  worker.Start();
  auto submits = transport.WaitForSubmits(2);
  REQUIRE(submits.size() == 2);
  CHECK(submits[0] == submits[1]);
  auto bodies = transport.BodiesOf(submits[0]);
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0] == bodies[1]);
  // Counted just after the transport took the batch.
  CHECK(Eventually([&] { return worker.stats().ack_timeouts.load() >= 1; }));
  CHECK(worker.stats().batches_retried.load() >= 1);
  transport.Complete(submits[0], SendResult::Kind::kAcked);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 10; }));
  worker.Stop();
  CHECK(store->Stats()->records == 0);
}

TEST_CASE("a rejected batch is dead-lettered while the others are acknowledged", "[uplink][mqtt]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 20);
  FakeAsyncTransport transport(2);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  auto submits = transport.WaitForSubmits(2);
  REQUIRE(submits.size() == 2);
  transport.Complete(submits[0], SendResult::Kind::kRejected, "undecodable");
  transport.Complete(submits[1], SendResult::Kind::kAcked);
  REQUIRE(Eventually([&] {
    return worker.stats().batches_rejected.load() == 1 && worker.stats().batches_acked.load() == 1;
  }));
  worker.Stop();
  CHECK(store->Stats()->records == 0);
  CHECK(store->Stats()->rejected_batches == 1);
}

TEST_CASE("a retry answer backs off and republishes the same batch", "[uplink][mqtt]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 10);
  FakeAsyncTransport transport(4);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  auto submits = transport.WaitForSubmits(1);
  REQUIRE(submits.size() == 1);
  transport.Complete(submits[0], SendResult::Kind::kRetry, "storage error");
  submits = transport.WaitForSubmits(2);
  REQUIRE(submits.size() == 2);
  CHECK(submits[1] == submits[0]);
  CHECK(worker.stats().batches_retried.load() == 1);
  CHECK(worker.stats().failing_since_ms.load() != UplinkStats::kNotFailing);
  transport.Complete(submits[0], SendResult::Kind::kAcked);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 10; }));
  CHECK(worker.stats().failing_since_ms.load() == UplinkStats::kNotFailing);
  worker.Stop();
}

TEST_CASE("batches wait while disconnected and go out after the reconnect", "[uplink][mqtt]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 20);
  FakeAsyncTransport transport(4);
  transport.SetConnected(false);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  REQUIRE(Eventually([&] { return worker.stats().connected.load() == 0; }));
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(transport.WaitForSubmits(0).empty());
  CHECK(worker.stats().batches_sent.load() == 0);
  // Waiting for the broker is idle, not stuck: the heartbeat keeps going.
  const auto beat = worker.last_progress();
  std::this_thread::sleep_for(UplinkWorker::kBeatEvery + milliseconds(300));
  CHECK(worker.last_progress() > beat);
  transport.SetConnected(true);
  auto submits = transport.WaitForSubmits(2);
  REQUIRE(submits.size() == 2);
  for (const auto& s : submits) transport.Complete(s, SendResult::Kind::kAcked);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 20; }));
  CHECK(worker.stats().connected.load() == 1);
  worker.Stop();
}

}  // namespace
}  // namespace tidegate::uplink

namespace tidegate::uplink {
namespace {

TEST_CASE("an ack queued by the broker before the batch is read back still deletes it",
          "[uplink][mqtt]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 0);
  const std::string id = MakeBatchId(store->buffer_id(), 1, 10);
  FakeAsyncTransport transport(2);
  transport.SetConnected(false);
  transport.Complete(id, SendResult::Kind::kAcked);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  // Taken while no batch is in flight...
  REQUIRE(Eventually([&] { return worker.stats().late_acks.load() == 1; }));
  // ...then the batch it answers is read (as after a restart, from the in-flight table).
  std::vector<Event> records;
  for (int i = 0; i < 10; ++i) {
    Event e;
    e.topic = "devices/d/telemetry";
    e.device_id = "d";
    e.priority = 5;
    e.payload = "{}";
    records.push_back(std::move(e));
  }
  REQUIRE(store->Append(records, {}, {}).ok());
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 10; }));
  worker.Stop();
  CHECK(worker.stats().batches_sent.load() == 0);
  CHECK(store->Stats()->records == 0);
}

}  // namespace
}  // namespace tidegate::uplink
