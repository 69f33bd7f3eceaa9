// SPDX-License-Identifier: Apache-2.0
// The uplink pipeline against a scripted transport (a unit-test fake; the integration tests
// run the real collector): batches go out oldest first, one on the wire per transport, while
// the next ones are prepared and recorded in flight; a retry holds back the batches behind it
// on its transport, while other transports ack later batches past it;
// a stop leaves every prepared batch in flight, and the next run resends them under the same
// ids before anything new.
#include "uplink/uplink_worker.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/support/temp_dir.h"

namespace tidegate::uplink {
namespace {

using testing::TempDir;

// Answers each Send with the next scripted result (then kAcked); holds a Send while the
// test keeps the gate closed. Records the batch id of every attempt.
class ScriptedTransport final : public Transport {
 public:
  SendResult Send(const EncodedBatch& batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    attempts_.push_back(batch.batch_id);
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_ || interrupted_; });
    SendResult result;  // kRetry
    if (interrupted_) return result;
    result.kind = SendResult::Kind::kAcked;
    result.http_status = 200;
    if (!script_.empty()) {
      result = script_.front();
      script_.erase(script_.begin());
    }
    return result;
  }
  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }
  void Open(bool open) {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = open;
    cv_.notify_all();
  }
  void Script(std::vector<SendResult> results) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(results);
  }
  // Waits (up to 10 s) until at least n attempts were made; returns them.
  std::vector<std::string> WaitForAttempts(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return attempts_.size() >= n; });
    return attempts_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;          // guarded by mu_
  bool interrupted_ = false;  // guarded by mu_
  std::vector<SendResult> script_;
  std::vector<std::string> attempts_;
};

UplinkSection Config() {
  UplinkSection config;
  config.batch_max_events = 10;
  config.batch_linger = Millis(0);
  config.retry_initial = Millis(1);
  config.retry_max = Millis(2);
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

// Waits (up to 10 s) until pred holds.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000 && !pred(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

TEST_CASE("with several connections one batch is prepared ahead for each, at least two",
          "[uplink]") {
  CHECK(UplinkWorker::PipelineDepth(1) == 2);
  CHECK(UplinkWorker::PipelineDepth(2) == 2);
  CHECK(UplinkWorker::PipelineDepth(6) == 6);
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 150);  // fifteen batches of 10
  std::vector<ScriptedTransport> transports(4);
  std::vector<Transport*> senders;
  for (ScriptedTransport& t : transports) {
    t.Open(false);
    senders.push_back(&t);
  }
  UplinkWorker worker(*store, senders, Config(), "agent", RealClock(), 1);
  worker.Start();
  for (ScriptedTransport& t : transports) REQUIRE(t.WaitForAttempts(1).size() == 1);
  // Four batches held on the wire and four more read, recorded in flight and waiting; the
  // other seven stay unread.
  REQUIRE(Eventually([&] { return store->LoadInflight()->size() == 8; }));
  for (ScriptedTransport& t : transports) t.Open(true);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 150; }));
  worker.Stop();
  CHECK(store->Stats()->records == 0);
}

TEST_CASE("the next batches are prepared while one is on the wire, and sent in order", "[uplink]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 50);  // five batches of 10
  ScriptedTransport transport;
  transport.Open(false);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  REQUIRE(transport.WaitForAttempts(1).size() == 1);
  // One batch held on the wire, PipelineDepth(1) more read, recorded in flight and waiting.
  REQUIRE(Eventually(
      [&] { return store->LoadInflight()->size() == 1 + UplinkWorker::PipelineDepth(1); }));
  CHECK(transport.WaitForAttempts(1).size() == 1);  // still one on the wire
  transport.Open(true);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 50; }));
  worker.Stop();
  auto sent = transport.WaitForAttempts(5);
  REQUIRE(sent.size() == 5);
  const std::string id = store->buffer_id();
  for (size_t i = 0; i < sent.size(); ++i) {
    CHECK(sent[i] == MakeBatchId(id, 10 * i + 1, 10 * i + 10));
  }
  CHECK(store->Stats()->records == 0);
  CHECK(store->LoadInflight()->empty());
}

TEST_CASE("a batch being retried holds back the batches prepared behind it", "[uplink]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 30);
  ScriptedTransport transport;
  SendResult unavailable;  // kRetry
  unavailable.http_status = 503;
  transport.Script({unavailable, unavailable});
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 30; }));
  worker.Stop();
  const std::string id = store->buffer_id();
  const std::string first = MakeBatchId(id, 1, 10);
  CHECK(transport.WaitForAttempts(5) == std::vector<std::string>{first, first, first,
                                                                 MakeBatchId(id, 11, 20),
                                                                 MakeBatchId(id, 21, 30)});
}

// Runs a worker whose receiver never answers until one batch is on the wire and the pipeline
// is full, then stops it; returns the ids recorded in flight, in resend order.
std::vector<std::string> StopWithPipelineFull(const std::string& dir) {
  auto store = OpenStoreWith(dir, 40);
  ScriptedTransport transport;
  transport.Open(false);
  UplinkWorker worker(*store, transport, Config(), "agent", RealClock(), 1);
  worker.Start();
  REQUIRE(Eventually(
      [&] { return store->LoadInflight()->size() == 1 + UplinkWorker::PipelineDepth(1); }));
  worker.Stop();  // the send on the wire is interrupted: nothing was acknowledged
  CHECK(store->Stats()->records == 40);
  auto inflight = store->LoadInflight();
  REQUIRE(inflight.ok());
  std::vector<std::string> ids;
  for (const auto& r : *inflight) ids.push_back(r.batch_id);
  return ids;
}

TEST_CASE("a stop leaves prepared batches in flight and the next run resends them first",
          "[uplink]") {
  TempDir dir;
  const std::vector<std::string> before = StopWithPipelineFull(dir.path());
  auto store = buffer::SqliteStore::Open(buffer::StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  ScriptedTransport transport;
  UplinkWorker worker(**store, transport, Config(), "agent", RealClock(), 2);
  worker.Start();
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 40; }));
  worker.Stop();
  auto sent = transport.WaitForAttempts(4);
  REQUIRE(sent.size() == 4);
  // The same ids (same records), oldest first, then the one batch never prepared.
  CHECK(std::vector<std::string>(sent.begin(), sent.begin() + 3) == before);
  CHECK(sent[3] == MakeBatchId((*store)->buffer_id(), 31, 40));
}

// Runs a worker with a slow transport that never answers and a fast one, until the fast one
// has acked every batch but the one the slow one holds; stops it and returns the held id.
std::string AckPastAHeldBatch(const std::string& dir) {
  auto store = OpenStoreWith(dir, 50);  // five batches of 10
  ScriptedTransport slow, fast;
  slow.Open(false);
  // The fast one opens only once the slow one holds a batch: otherwise, on a busy machine,
  // the fast sender could take all five before the slow sender's thread first runs.
  fast.Open(false);
  UplinkWorker worker(*store, std::vector<Transport*>{&slow, &fast}, Config(), "agent", RealClock(),
                      1);
  worker.Start();
  const std::vector<std::string> on_slow = slow.WaitForAttempts(1);
  REQUIRE(on_slow.size() == 1);
  const std::string held = on_slow.front();
  fast.Open(true);
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 40; }));
  CHECK(slow.WaitForAttempts(1).size() == 1);  // the slow one never took a second
  auto inflight = store->LoadInflight();
  REQUIRE(inflight.ok());
  REQUIRE(inflight->size() == 1);
  CHECK(inflight->front().batch_id == held);
  CHECK(store->Stats()->records == 10);  // only the held batch's records are left
  const std::vector<std::string> landed = fast.WaitForAttempts(4);
  CHECK(std::find(landed.begin(), landed.end(), held) == landed.end());
  worker.Stop();  // the held send is interrupted, never acknowledged
  return held;
}

TEST_CASE("with several transports later batches are acked past a held one", "[uplink]") {
  TempDir dir;
  const std::string held = AckPastAHeldBatch(dir.path());
  // The next run sends the held batch again under the same id, and nothing else.
  auto store = buffer::SqliteStore::Open(buffer::StoreOptions{.state_dir = dir.path()});
  REQUIRE(store.ok());
  ScriptedTransport transport;
  UplinkWorker worker(**store, transport, Config(), "agent", RealClock(), 2);
  worker.Start();
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 10; }));
  worker.Stop();
  CHECK(transport.WaitForAttempts(1) == std::vector<std::string>{held});
  CHECK((*store)->Stats()->records == 0);
  CHECK((*store)->LoadInflight()->empty());
}

TEST_CASE("a worker rebound to another transport resends its batches in flight there", "[uplink]") {
  TempDir dir;
  auto store = OpenStoreWith(dir.path(), 40);
  ScriptedTransport old_endpoint;
  old_endpoint.Open(false);        // never answers: a batch stays on the wire
  ScriptedTransport new_endpoint;  // declared first: it must outlive the worker
  UplinkWorker worker(*store, old_endpoint, Config(), "agent", RealClock(), 3);
  worker.Start();
  REQUIRE(Eventually(
      [&] { return store->LoadInflight()->size() == 1 + UplinkWorker::PipelineDepth(1); }));
  worker.Stop();
  UplinkSection config = Config();
  config.url = "https://other.example:8443/v1/batches";
  worker.Rebind({&new_endpoint}, config);
  worker.Start();
  REQUIRE(Eventually([&] { return worker.stats().events_acked.load() == 40; }));
  worker.Stop();
  const std::string id = store->buffer_id();
  // The batch on the old wire first, under its id, then the rest in order, each once.
  CHECK(old_endpoint.WaitForAttempts(1) == std::vector<std::string>{MakeBatchId(id, 1, 10)});
  CHECK(new_endpoint.WaitForAttempts(4) ==
        std::vector<std::string>{MakeBatchId(id, 1, 10), MakeBatchId(id, 11, 20),
                                 MakeBatchId(id, 21, 30), MakeBatchId(id, 31, 40)});
  CHECK(store->Stats()->records == 0);
}

}  // namespace
}  // namespace tidegate::uplink
