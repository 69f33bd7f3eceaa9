// SPDX-License-Identifier: Apache-2.0
// The MQTT source's socket buffer (agent/socket_buffer.h) with a real mosquitto and the real
// libmosquitto client inside MqttSource: a backlog of QoS 1 messages arrives complete and in
// order, in far fewer socket reads and writes than messages (libmosquitto alone makes three
// or four reads and a PUBACK write per message, plus a byte through its wakeup socketpair,
// which the source's client goes without), every PUBACK reaches the broker (a reconnect
// redelivers nothing), and with TLS the buffer stays out of the way (OpenSSL reads and writes
// the socket).
// The backlog is made deterministic without sleeping: the source's handler holds the first
// message until the broker has acknowledged every publish, so the rest waits in the socket.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "agent/mqtt_source.h"
#include "agent/socket_buffer.h"
#include "common/config.h"
#include "tests/support/certs.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/mqtt_test_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using agent::SocketBuffer;
using std::chrono::seconds;

constexpr int kMessages = 2000;

// Payloads "0".."1999" padded to the size of a typical device event.
std::string Payload(int i) { return std::to_string(i) + std::string(200, ' '); }

struct SocketCalls {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t refused_socketpairs = 0;  // libmosquitto's wakeup pair, asked for by mosquitto_new
};

// Runs a source on `config` until it has received kMessages published while its handler
// held the first one. Returns the payloads' numbers in arrival order; *calls gets the socket
// reads and writes the ingest thread's buffer had made by the last message.
std::vector<int> ReceiveBacklog(const MqttSourceSection& config, int publish_port,
                                SocketCalls* calls) {
  std::mutex mu;
  std::vector<int> received;
  SocketCalls seen;
  std::promise<void> first_seen;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  agent::MqttSource source(config, [&](std::string_view, std::string_view payload) {
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      received.push_back(std::stoi(std::string(payload)));
      seen.reads = std::max(seen.reads, SocketBuffer::SocketReads());
      seen.writes = std::max(seen.writes, SocketBuffer::SocketWrites());
      first = received.size() == 1;
    }
    if (first) {
      first_seen.set_value();
      released.wait();
    }
  });
  // However this function ends (a failed REQUIRE throws), the handler is let go before the
  // source's destructor joins its thread.
  struct ReleaseOnExit {
    std::promise<void>& release;
    bool released = false;
    void Now() {
      if (!released) release.set_value();
      released = true;
    }
    ~ReleaseOnExit() { Now(); }
  } release_on_exit{release};
  const uint64_t refused_before = agent::WithoutWakeupPair::Refused();
  REQUIRE(source.Start().ok());  // mosquitto_new runs on this thread
  {
    std::lock_guard<std::mutex> lock(mu);
    seen.refused_socketpairs = agent::WithoutWakeupPair::Refused() - refused_before;
  }
  REQUIRE(WaitUntil([&] { return source.subscribed(); }, seconds(20)));

  MqttClientOptions options;
  options.port = publish_port;
  options.client_id = "socket-buffer-publisher";
  auto publisher = MqttTestClient::Connect(options);
  REQUIRE(publisher.ok());
  for (int i = 0; i < kMessages; ++i) {
    auto code = (*publisher)->Publish("devices/d1/telemetry", Payload(i), 1);
    REQUIRE(code.ok());
    REQUIRE(*code == 0);
  }
  // Every message is with the broker now; most wait in the source's socket behind the first.
  REQUIRE(first_seen.get_future().wait_for(seconds(20)) == std::future_status::ready);
  release_on_exit.Now();
  REQUIRE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return received.size() >= kMessages;
      },
      seconds(30)));
  source.Stop();
  std::lock_guard<std::mutex> lock(mu);
  *calls = seen;
  return received;
}

// Reconnects as `config`'s client and publishes a marker: the first message the session
// delivers. Had a PUBACK of the backlog not reached the broker, that message would come first.
std::string FirstMessageAfterReconnect(const MqttSourceSection& config, int publish_port) {
  std::mutex mu;
  std::vector<std::string> received;
  agent::MqttSource source(config, [&](std::string_view, std::string_view payload) {
    std::lock_guard<std::mutex> lock(mu);
    received.emplace_back(payload);
  });
  REQUIRE(source.Start().ok());
  REQUIRE(WaitUntil([&] { return source.subscribed(); }, seconds(20)));
  MqttClientOptions options;
  options.port = publish_port;
  options.client_id = "socket-buffer-marker";
  auto publisher = MqttTestClient::Connect(options);
  REQUIRE(publisher.ok());
  auto code = (*publisher)->Publish("devices/d1/telemetry", "marker", 1);
  REQUIRE(code.ok());
  REQUIRE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return std::find(received.begin(), received.end(), "marker") != received.end();
      },
      seconds(20)));
  source.Stop();
  std::lock_guard<std::mutex> lock(mu);
  return received.front().substr(0, 8);
}

std::vector<int> InOrder() {
  std::vector<int> numbers(kMessages);
  for (int i = 0; i < kMessages; ++i) numbers[i] = i;
  return numbers;
}

MqttSourceSection SourceConfig(const std::string& client_id, int port) {
  MqttSourceSection config;
  config.port = port;
  config.client_id = client_id;
  config.topics = {TopicSpec{.filter = "devices/#", .qos = 1}};
  return config;
}

TEST_CASE("a backlog of QoS 1 messages takes far fewer socket reads and writes than messages") {
  TempDir dir("socket-buffer");
  MosquittoBroker broker;
  BrokerOptions options;
  options.persistence = false;
  options.max_inflight_messages = 0;  // the whole backlog may be on its way at once
  REQUIRE(broker.Start(dir.path(), options).ok());

  const MqttSourceSection config = SourceConfig("socket-buffer-plain", broker.port());
  SocketCalls calls;
  const auto received = ReceiveBacklog(config, broker.port(), &calls);
  CHECK(received == InOrder());
  INFO("socket reads: " << calls.reads << ", writes: " << calls.writes << " for " << kMessages
                        << " messages");
  // Zero would mean libmosquitto's reads and PUBACK writes bypassed the buffer; each 64 KiB
  // refill holds about 300 of these messages, and a burst's PUBACKs leave in one write.
  CHECK(calls.reads > 0);
  CHECK(calls.reads < kMessages / 4);
  CHECK(calls.writes > 0);
  CHECK(calls.writes < kMessages / 4);
  CHECK(calls.refused_socketpairs >= 1);  // the client runs without its wakeup socketpair
  CHECK(FirstMessageAfterReconnect(config, broker.port()) == "marker");
}

TEST_CASE("with TLS to the broker the socket buffer stays out of the way") {
  TempDir dir("socket-buffer-tls");
  auto certs = MakeTestCerts(dir.MakeDir("certs"));
  REQUIRE(certs.ok());
  MosquittoBroker broker;
  BrokerOptions options;
  options.persistence = false;
  options.max_inflight_messages = 0;
  options.tls_cert_file = certs->server_cert;
  options.tls_key_file = certs->server_key;
  options.tls_ca_file = certs->ca_cert;
  REQUIRE(broker.Start(dir.MakeDir("broker"), options).ok());

  MqttSourceSection config = SourceConfig("socket-buffer-tls", broker.tls_port());
  config.tls.emplace();
  config.tls->ca_file = certs->ca_cert;
  SocketCalls calls;
  const auto received = ReceiveBacklog(config, broker.port(), &calls);
  CHECK(received == InOrder());
  CHECK(calls.reads == 0);
  CHECK(calls.writes == 0);
  CHECK(calls.refused_socketpairs >= 1);
  CHECK(FirstMessageAfterReconnect(config, broker.port()) == "marker");
}

}  // namespace
}  // namespace tidegate::testing
