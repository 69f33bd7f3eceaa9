// SPDX-License-Identifier: Apache-2.0
// The MQTT v5 uplink (uplink/mqtt_transport.h and the uplink worker) against a real TLS
// mosquitto "cloud" broker that requires client certificates and enforces the protocol's
// ACL by certificate CN. Until the collector's MQTT source exists, the receiving end is
// TEST PEER below: a small libmosquitto v5 client in this test that subscribes to
// tidegate/+/batches, checks the protocol's properties and answers on the response topic
// (or withholds, rejects). Covers: every batch acked once and deleted; a withheld ack ->
// republished after ack_timeout with the same id and bytes; rejected -> dead letter; the
// broker restarted mid-stream -> nothing lost; acks published while the agent is away are
// delivered from its persistent session after it reconnects.
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "schema/batch_view.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/certs.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/scripted_receiver.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"
#include "uplink/https_transport.h"
#include "uplink/mqtt_transport.h"
#include "uplink/uplink_worker.h"

namespace tidegate::testing {
namespace {

using schema::DecodeBatch;
using schema::DecompressBatch;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The client certificate's CN is the agent id (the broker's ACL is keyed on it).
constexpr const char* kAgentId = "tidegate-test-client";

// One batch as the test peer received it.
struct Received {
  std::string topic;
  std::string batch_id_property;
  std::string schema_version;
  std::string content_encoding;
  std::string content_type;
  std::string response_topic;
  std::string correlation;
  std::string payload;
};

// TEST PEER: a stand-in for the collector's MQTT source (built elsewhere), speaking the
// protocol's collector side. `answer` decides per received batch: "landed", "duplicate",
// "rejected", "retry", or "" (withhold the ack). Runs libmosquitto's own network thread.
class TestCollectorPeer {
 public:
  using Answer = std::function<std::string(const Received&, int delivery)>;

  ~TestCollectorPeer() { Stop(); }

  void Start(int port, Answer answer) {
    answer_ = std::move(answer);
    mosquitto_lib_init();
    mosq_ = mosquitto_new("tidegate-test-peer", /*clean_session=*/false, this);
    REQUIRE(mosq_ != nullptr);
    REQUIRE(mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) ==
            MOSQ_ERR_SUCCESS);
    mosquitto_connect_v5_callback_set(mosq_, &OnConnect);
    mosquitto_message_v5_callback_set(mosq_, &OnMessage);
    mosquitto_property* props = nullptr;
    REQUIRE(mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600) ==
            MOSQ_ERR_SUCCESS);
    int rc = mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, 10, nullptr, props);
    mosquitto_property_free_all(&props);
    REQUIRE(rc == MOSQ_ERR_SUCCESS);
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    REQUIRE(mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS);
    REQUIRE(WaitUntil([&] { return subscribed_.load(); }, seconds(10)));
  }

  void Stop() {
    if (mosq_ == nullptr) return;
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
  }

  // Publishes an ack as a collector would, with the batch's correlation data.
  void Ack(const Received& batch, const std::string& status, const std::string& reason = "") {
    std::string json = R"({"batch_id":")" + batch.batch_id_property + R"(","status":")" + status +
                       "\"" + (reason.empty() ? "" : R"(,"reason":")" + reason + "\"") + "}";
    mosquitto_property* props = nullptr;
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, batch.correlation.data(),
                                  static_cast<uint16_t>(batch.correlation.size()));
    mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "application/json");
    int rc = mosquitto_publish_v5(mosq_, nullptr, batch.response_topic.c_str(),
                                  static_cast<int>(json.size()), json.data(), 1, false, props);
    mosquitto_property_free_all(&props);
    CHECK(rc == MOSQ_ERR_SUCCESS);
  }

  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }

 private:
  static void OnConnect(mosquitto* m, void* self_ptr, int rc, int, const mosquitto_property*) {
    auto* self = static_cast<TestCollectorPeer*>(self_ptr);
    if (rc != 0) return;
    mosquitto_subscribe_v5(m, nullptr, "tidegate/+/batches", 1, 0, nullptr);
    self->subscribed_ = true;
  }

  static std::string ReadString(const mosquitto_property* props, int id) {
    char* value = nullptr;
    if (mosquitto_property_read_string(props, id, &value, false) == nullptr) return "";
    std::string out(value);
    free(value);  // NOLINT(cppcoreguidelines-no-malloc)
    return out;
  }

  static std::map<std::string, std::string> UserProperties(const mosquitto_property* props) {
    std::map<std::string, std::string> out;
    const mosquitto_property* p = props;
    bool skip_first = false;
    while (true) {
      char* name = nullptr;
      char* value = nullptr;
      p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
                                              skip_first);
      if (p == nullptr) break;
      out[name] = value;
      free(name);   // NOLINT(cppcoreguidelines-no-malloc)
      free(value);  // NOLINT(cppcoreguidelines-no-malloc)
      skip_first = true;
    }
    return out;
  }

  static void OnMessage(mosquitto*, void* self_ptr, const mosquitto_message* message,
                        const mosquitto_property* props) {
    auto* self = static_cast<TestCollectorPeer*>(self_ptr);
    Received r;
    r.topic = message->topic;
    r.payload.assign(static_cast<const char*>(message->payload),
                     static_cast<size_t>(message->payloadlen));
    auto user = UserProperties(props);
    r.batch_id_property = user["batch_id"];
    r.schema_version = user["schema_version"];
    r.content_encoding = user["content_encoding"];
    r.content_type = ReadString(props, MQTT_PROP_CONTENT_TYPE);
    r.response_topic = ReadString(props, MQTT_PROP_RESPONSE_TOPIC);
    void* data = nullptr;
    uint16_t len = 0;
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false)) {
      r.correlation.assign(static_cast<const char*>(data), len);
      free(data);  // NOLINT(cppcoreguidelines-no-malloc)
    }
    int delivery = 0;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      delivery = ++self->deliveries_[r.batch_id_property];
      self->received_.push_back(r);
    }
    const std::string status = self->answer_(r, delivery);
    if (!status.empty()) self->Ack(r, status, status == "rejected" ? "test peer says no" : "");
  }

  mosquitto* mosq_ = nullptr;
  Answer answer_;
  std::atomic<bool> subscribed_{false};
  std::mutex mu_;
  std::vector<Received> received_;         // guarded by mu_
  std::map<std::string, int> deliveries_;  // guarded by mu_
};

// A TLS broker requiring client certificates, with the protocol's ACL: the gateway (by
// certificate CN) may publish its batches and read its acks; the peer, on the plain
// loopback listener, is the collector.
struct CloudBroker {
  TempDir dir;
  TestCerts certs;
  MosquittoBroker broker;

  CloudBroker() {
    std::filesystem::create_directory(dir.path() + "/broker");
    std::filesystem::create_directory(dir.path() + "/certs");
    auto made = MakeTestCerts(dir.path() + "/certs");
    REQUIRE(made.ok());
    certs = *made;
    const std::string acl = dir.path() + "/acl";
    FILE* f = fopen(acl.c_str(), "w");
    REQUIRE(f != nullptr);
    fprintf(f,
            "topic read tidegate/+/batches\ntopic write tidegate/+/acks\n"
            "user %s\ntopic write tidegate/%s/batches\ntopic read tidegate/%s/acks\n",
            kAgentId, kAgentId, kAgentId);
    fclose(f);
    BrokerOptions options;
    options.tls_cert_file = certs.server_cert;
    options.tls_key_file = certs.server_key;
    options.tls_ca_file = certs.ca_cert;
    options.tls_require_client_cert = true;
    options.extra_config = "use_identity_as_username true\nacl_file " + acl + "\n";
    Status started = broker.Start(dir.path() + "/broker", options);
    INFO(started.ToString());
    REQUIRE(started.ok());
  }
};

UplinkSection MqttConfig(const CloudBroker& cloud, milliseconds ack_timeout = seconds(30)) {
  UplinkSection config;
  config.transport = tidegate::Transport::kMqtt;
  config.url = "mqtts://localhost:" + std::to_string(cloud.broker.tls_port());
  config.tls.ca_file = cloud.certs.ca_cert;
  config.tls.cert_file = cloud.certs.client_cert;
  config.tls.key_file = cloud.certs.client_key;
  config.batch_max_events = 10;
  config.batch_linger = Millis(0);
  config.retry_initial = Millis(100);
  config.retry_max = Millis(500);
  config.mqtt_max_inflight = 4;
  config.mqtt_ack_timeout = ack_timeout;
  config.mqtt_keepalive = Millis(10'000);
  return config;
}

void AppendEvents(buffer::SqliteStore& store, int first, int n) {
  std::vector<Event> records;
  for (int i = first; i < first + n; ++i) {
    Event e;
    e.topic = "devices/d/telemetry";
    e.device_id = "d";
    e.event_time_ms = 1000 + i;
    e.ingest_time_ms = 1000 + i;
    e.priority = 5;
    e.payload = R"({"n":)" + std::to_string(i) + "}";
    records.push_back(std::move(e));
  }
  REQUIRE(store.Append(records, {}, {}).ok());
}

std::unique_ptr<buffer::SqliteStore> OpenStore(const std::string& dir) {
  auto store = buffer::SqliteStore::Open(buffer::StoreOptions{.state_dir = dir});
  REQUIRE(store.ok());
  return std::move(store).value();
}

// Every event seq in the batches the peer received (decoded as a collector would).
std::set<uint64_t> SeqsOf(const std::vector<Received>& received) {
  std::set<uint64_t> seqs;
  for (const Received& r : received) {
    auto flat = DecompressBatch(r.payload, 16u << 20);
    REQUIRE(flat.ok());
    auto decoded = DecodeBatch(*flat);
    REQUIRE(decoded.ok());
    for (const auto& e : decoded->events) seqs.insert(e.seq);
  }
  return seqs;
}

// The MQTT transport and the uplink worker on one store, as the agent runs them.
struct Uplink {
  std::unique_ptr<uplink::MqttTransport> transport;
  std::unique_ptr<uplink::UplinkWorker> worker;

  Uplink(buffer::SqliteStore& store, const UplinkSection& config) {
    auto created = uplink::MqttTransport::Create(config, kAgentId, 7);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    transport = std::move(created).value();
    worker =
        std::make_unique<uplink::UplinkWorker>(store, *transport, config, kAgentId, RealClock(), 7);
    transport->Start();
    worker->Start();
  }
  ~Uplink() { Stop(); }
  void Stop() {
    if (worker) worker->Stop();
    if (transport) transport->Stop();
  }
  const uplink::UplinkStats& stats() const { return worker->stats(); }
};

TEST_CASE("mqtt uplink: every batch carries the protocol's properties, is acked once and deleted",
          "[integration][mqtt]") {
  CloudBroker cloud;
  TestCollectorPeer peer;
  peer.Start(cloud.broker.port(), [](const Received&, int) { return "landed"; });
  TempDir state;
  auto store = OpenStore(state.path());
  AppendEvents(*store, 0, 100);
  Uplink uplink(*store, MqttConfig(cloud));
  REQUIRE(WaitUntil([&] { return uplink.stats().events_acked.load() == 100; }, seconds(30)));
  CHECK(uplink.stats().batches_acked.load() == 10);
  CHECK(uplink.stats().batches_sent.load() == 10);
  CHECK(uplink.stats().batches_retried.load() == 0);
  CHECK(store->Stats()->records == 0);
  CHECK(store->LoadInflight()->empty());
  std::set<std::string> ids;
  for (const Received& r : peer.received()) {
    CHECK(r.topic == std::string("tidegate/") + kAgentId + "/batches");
    CHECK(r.response_topic == std::string("tidegate/") + kAgentId + "/acks");
    CHECK(r.correlation == r.batch_id_property);
    CHECK(r.schema_version == "1");
    CHECK(r.content_encoding == "zstd");
    CHECK(r.content_type == "application/vnd.tidegate.batch+flatbuffers");
    auto flat = DecompressBatch(r.payload, 16u << 20);
    REQUIRE(flat.ok());
    auto decoded = DecodeBatch(*flat);
    REQUIRE(decoded.ok());
    CHECK(decoded->batch_id == r.batch_id_property);
    CHECK(decoded->agent_id == kAgentId);
    ids.insert(r.batch_id_property);
  }
  CHECK(ids.size() == 10);
  CHECK(uplink.stats().connected.load() == 1);
}

TEST_CASE("mqtt uplink: a withheld ack makes the batch go again after ack_timeout, same bytes",
          "[integration][mqtt]") {
  CloudBroker cloud;
  TestCollectorPeer peer;
  // The first delivery of every batch goes unanswered, as if its collector vanished.
  peer.Start(cloud.broker.port(),
             [](const Received&, int delivery) { return delivery == 1 ? "" : "landed"; });
  TempDir state;
  auto store = OpenStore(state.path());
  AppendEvents(*store, 0, 20);
  Uplink uplink(*store, MqttConfig(cloud, seconds(1)));
  REQUIRE(WaitUntil([&] { return uplink.stats().events_acked.load() == 20; }, seconds(30)));
  CHECK(uplink.stats().ack_timeouts.load() == 2);
  CHECK(store->Stats()->records == 0);
  std::map<std::string, std::vector<std::string>> bodies;
  for (const Received& r : peer.received()) bodies[r.batch_id_property].push_back(r.payload);
  REQUIRE(bodies.size() == 2);
  for (const auto& [id, copies] : bodies) {
    INFO(id);
    REQUIRE(copies.size() == 2);
    CHECK(copies[0] == copies[1]);
  }
}

TEST_CASE("mqtt uplink: a rejected batch is dead-lettered, the others land",
          "[integration][mqtt]") {
  CloudBroker cloud;
  TestCollectorPeer peer;
  std::string rejected_id;
  std::mutex mu;
  peer.Start(cloud.broker.port(), [&](const Received& r, int) {
    std::lock_guard<std::mutex> lock(mu);
    if (rejected_id.empty()) {
      rejected_id = r.batch_id_property;
      return "rejected";
    }
    return "landed";
  });
  TempDir state;
  auto store = OpenStore(state.path());
  AppendEvents(*store, 0, 30);
  Uplink uplink(*store, MqttConfig(cloud));
  REQUIRE(WaitUntil(
      [&] {
        return uplink.stats().batches_rejected.load() == 1 &&
               uplink.stats().batches_acked.load() == 2;
      },
      seconds(30)));
  CHECK(store->Stats()->records == 0);
  CHECK(store->Stats()->rejected_batches == 1);
}

TEST_CASE("mqtt uplink: a broker restarted mid-stream loses nothing", "[integration][mqtt]") {
  CloudBroker cloud;
  TestCollectorPeer peer;
  peer.Start(cloud.broker.port(), [](const Received&, int) { return "landed"; });
  TempDir state;
  auto store = OpenStore(state.path());
  AppendEvents(*store, 0, 100);
  Uplink uplink(*store, MqttConfig(cloud, seconds(3)));
  REQUIRE(WaitUntil([&] { return uplink.stats().batches_acked.load() >= 2; }, seconds(30)));
  AppendEvents(*store, 100, 100);
  REQUIRE(cloud.broker.Restart().ok());
  AppendEvents(*store, 200, 100);
  REQUIRE(WaitUntil([&] { return store->Stats()->records == 0; }, seconds(60)));
  CHECK(uplink.stats().events_acked.load() >= 300);  // a batch acked twice is counted once
  const std::set<uint64_t> seqs = SeqsOf(peer.received());
  CHECK(seqs.size() == 300);
  CHECK(*seqs.begin() == 1);
  CHECK(*seqs.rbegin() == 300);
}

TEST_CASE("mqtt uplink: acks published while the agent is away arrive from its session",
          "[integration][mqtt]") {
  CloudBroker cloud;
  TestCollectorPeer peer;
  peer.Start(cloud.broker.port(), [](const Received&, int) { return ""; });  // acks by hand
  TempDir state;
  auto store = OpenStore(state.path());
  AppendEvents(*store, 0, 10);
  auto first = std::make_unique<Uplink>(*store, MqttConfig(cloud, seconds(60)));
  REQUIRE(WaitUntil([&] { return peer.count() == 1; }, seconds(30)));
  first.reset();                                // a clean DISCONNECT: the broker keeps the session
  peer.Ack(peer.received().front(), "landed");  // queued for the absent agent
  CHECK(store->Stats()->records == 10);
  Uplink second(*store, MqttConfig(cloud, seconds(60)));
  REQUIRE(WaitUntil([&] { return store->Stats()->records == 0; }, seconds(30)));
  CHECK(second.stats().batches_acked.load() == 1);
}

}  // namespace
}  // namespace tidegate::testing

namespace tidegate::testing {
namespace {

constexpr int kBenchEvents = 50'000;

void AppendBenchEvents(buffer::SqliteStore& store) {
  for (int chunk = 0; chunk < kBenchEvents; chunk += 5'000) {
    std::vector<Event> records;
    for (int i = chunk; i < chunk + 5'000; ++i) {
      Event e;
      e.topic = "devices/dev-" + std::to_string(i % 50) + "/telemetry";
      e.device_id = "dev-" + std::to_string(i % 50);
      e.event_time_ms = 1'700'000'000'000 + i;
      e.ingest_time_ms = e.event_time_ms;
      e.priority = 5;
      e.payload = R"({"temp":)" + std::to_string(20 + i % 7) + R"(.5,"hum":)" +
                  std::to_string(40 + i % 13) + R"(,"seq":)" + std::to_string(i) +
                  R"(,"fw":"1.4.2","status":"ok"})";
      records.push_back(std::move(e));
    }
    REQUIRE(store.Append(records, {}, {}).ok());
  }
}

UplinkSection BenchConfig(UplinkSection config) {
  config.batch_max_events = 1000;  // the default
  config.batch_max_bytes = 1 << 20;
  config.batch_linger = Millis(0);
  return config;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Seconds to drain kBenchEvents through `worker` (started by the caller's setup).
template <typename Worker>
double DrainSeconds(buffer::SqliteStore& store, Worker& worker) {
  const auto start = std::chrono::steady_clock::now();
  worker.Start();
  REQUIRE(WaitUntil([&] { return worker.stats().events_acked.load() == kBenchEvents; },
                    seconds(300), milliseconds(5)));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  worker.Stop();
  CHECK(store.Stats()->records == 0);
  return s;
}

// Not run by default (hidden tag). The same backlog drained through the MQTT transport (TLS
// broker + test peer answering "landed" at once) and the HTTPS transport (TLS ScriptedReceiver
// answering 200 at once): neither end lands anything, so this compares the transports.
// Run: build/bin/e2e_mqtt_uplink_test "[.bench]"
double MqttDrainEventsPerSecond(const CloudBroker& cloud) {
  TestCollectorPeer peer;
  peer.Start(cloud.broker.port(), [](const Received&, int) { return "landed"; });
  TempDir state;
  auto store = OpenStore(state.path());
  AppendBenchEvents(*store);
  const UplinkSection config = BenchConfig(MqttConfig(cloud));
  auto transport = uplink::MqttTransport::Create(config, kAgentId, 7);
  REQUIRE(transport.ok());
  (*transport)->Start();
  REQUIRE(WaitUntil([&] { return (*transport)->health().connected; }, seconds(10)));
  uplink::UplinkWorker worker(*store, **transport, config, kAgentId, RealClock(), 7);
  const double eps = kBenchEvents / DrainSeconds(*store, worker);
  (*transport)->Stop();
  return eps;
}

double HttpsDrainEventsPerSecond(const CloudBroker& cloud) {
  auto receiver = ScriptedReceiver::Bind();
  REQUIRE(receiver.ok());
  REQUIRE((*receiver)
              ->Serve(cloud.certs.server_cert, cloud.certs.server_key, 1, cloud.certs.ca_cert)
              .ok());
  (*receiver)->SetReply(ScriptedReply{.status = 200});
  TempDir state;
  auto store = OpenStore(state.path());
  AppendBenchEvents(*store);
  UplinkSection config = BenchConfig(MqttConfig(cloud));
  config.transport = tidegate::Transport::kHttps;
  config.url = "https://localhost:" + std::to_string((*receiver)->port()) + "/v1/batches";
  auto transport = uplink::HttpsTransport::Create(config);
  REQUIRE(transport.ok());
  uplink::UplinkWorker worker(*store, **transport, config, kAgentId, RealClock(), 7);
  return kBenchEvents / DrainSeconds(*store, worker);
}

// Not run by default (hidden tag). The same backlog drained through the MQTT transport (TLS
// broker + test peer answering "landed" at once) and the HTTPS transport (TLS ScriptedReceiver
// answering 200 at once): neither end lands anything, so this compares the transports.
// Run: build/bin/e2e_mqtt_uplink_test "[.bench]"
TEST_CASE("bench: drain through mqtt vs https", "[.bench][mqtt]") {
  std::vector<double> mqtt_eps;
  std::vector<double> https_eps;
  for (int run = 0; run < 3; ++run) {
    CloudBroker cloud;
    mqtt_eps.push_back(MqttDrainEventsPerSecond(cloud));
    https_eps.push_back(HttpsDrainEventsPerSecond(cloud));
    std::printf("run %d: mqtt %.0f events/s, https %.0f events/s\n", run + 1, mqtt_eps.back(),
                https_eps.back());
  }
  std::printf(
      "median of 3, %d events, batches of 1000: mqtt %.0f events/s, https %.0f events/s "
      "(ratio %.2f)\n",
      kBenchEvents, Median(mqtt_eps), Median(https_eps), Median(mqtt_eps) / Median(https_eps));
}

}  // namespace
}  // namespace tidegate::testing

namespace tidegate::testing {
namespace {

// A TLS broker needing client certificates from the stack's CA, in <stack dir>/cloud.
Status StartCloudBroker(const E2eStack& stack, MosquittoBroker* cloud) {
  const TestCerts& certs = stack.certs();
  const std::string cloud_dir = stack.dir().File("cloud");
  std::filesystem::create_directory(cloud_dir);
  BrokerOptions options;
  options.tls_cert_file = certs.server_cert;
  options.tls_key_file = certs.server_key;
  options.tls_ca_file = certs.ca_cert;
  options.tls_require_client_cert = true;
  options.extra_config = "use_identity_as_username true\n";
  return cloud->Start(cloud_dir, options);
}

// The real agent binary with uplink.transport mqtt: simulator -> local broker -> agent ->
// TLS cloud broker -> TEST PEER. Everything published arrives once acked and deleted, and
// /metrics, /readyz and `tidegate status` show the MQTT uplink's state.
TEST_CASE("mqtt uplink: the agent drains through the cloud broker and reports the uplink",
          "[integration][mqtt]") {
  E2eStack stack("e2e-mqtt-uplink", {.agent_id = kAgentId});
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  const TestCerts& certs = stack.certs();
  MosquittoBroker cloud;
  RequireOk(StartCloudBroker(stack, &cloud), &stack);
  TestCollectorPeer peer;
  peer.Start(cloud.port(), [](const Received&, int) { return "landed"; });
  StackOptions& options = stack.mutable_options();
  options.uplink_url = "mqtts://localhost:" + std::to_string(cloud.tls_port());
  options.uplink_cert_file = certs.client_cert;
  options.uplink_key_file = certs.client_key;
  options.uplink_extra_yaml = "  transport: mqtt\n  mqtt: {max_inflight: 4, ack_timeout: 10s}\n";
  RequireOk(stack.StartAgent(), &stack);
  RequireOk(stack.StartSim({"--count", "500", "--rate", "1000", "--devices", "5", "--seed",
                            std::to_string(TestSeed())}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  REQUIRE(sim_exit.ok());
  REQUIRE(*sim_exit == 0);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_events_acked_total").value_or(0) >= 500; },
                    seconds(60)));
  CHECK(stack.WaitForDrained(seconds(30)));
  const std::set<uint64_t> seqs = SeqsOf(peer.received());
  CHECK(seqs.size() == 500);
  CHECK(stack.Metric("tidegate_uplink_mqtt_connected") == 1.0);
  CHECK(stack.Metric("tidegate_uplink_inflight_batches") == 0.0);
  CHECK(stack.Probe("/readyz").status == 200);
  Result<CommandResult> status = stack.RunTidegate({"status", "-c", stack.AgentConfigPath()});
  REQUIRE(status.ok());
  CHECK_THAT(status->stdout_text, Catch::Contains("mqtt connected, 0 batches awaiting acks"));
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
