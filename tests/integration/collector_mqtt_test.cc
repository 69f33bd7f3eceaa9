// SPDX-License-Identifier: Apache-2.0
// The collector's MQTT v5 source (issue 14), real parts only: the cloud broker with the
// shipped ACL (cloud_broker.h), real `tidegate-collector serve --mqtt` processes with their
// own certificates, and a test gateway publishing batches exactly as the protocol note says
// and reading its acks. Checks landed/duplicate/rejected acks with the right correlation
// data, that a batch naming another agent lands nothing, and that two collectors of one
// group split the batches so that each lands exactly once in the union of their stores.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collector/test_util.h"
#include "tests/integration/cloud_broker.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;
namespace ct = tidegate::collector::testing;

// gw-a as the protocol note's agent: publishes batches, reads its acks.
class TestGateway {
 public:
  explicit TestGateway(CloudBroker& cloud) : client_(cloud.Connect(cloud.gw_a(), "gw-a")) {
    REQUIRE(RequireValue(client_->Subscribe("tidegate/gw-a/acks", 1)) == 1);
  }

  MqttProperties Properties(const std::string& batch_id) const {
    return {
        .content_type = "application/vnd.tidegate.batch+flatbuffers",
        .response_topic = "tidegate/gw-a/acks",
        .correlation_data = "corr:" + batch_id,
        .user = {{"batch_id", batch_id}, {"schema_version", "1"}, {"content_encoding", "zstd"}}};
  }

  void Publish(const std::string& body, const MqttProperties& props) {
    REQUIRE(RequireValue(client_->Publish("tidegate/gw-a/batches", body, 1, props)) == 0);
  }

  void PublishBatch(const ct::TestBatch& spec) {
    Publish(ct::Zstd(ct::BuildBatch(spec)), Properties(spec.batch_id));
  }

  // The `n`th ack (1-based), waiting for it.
  MqttMessage Ack(size_t n) {
    REQUIRE(client_->WaitForMessages(n, std::chrono::seconds(20)));
    return client_->Messages()[n - 1];
  }

  MqttTestClient& client() { return *client_; }

 private:
  std::unique_ptr<MqttTestClient> client_;
};

ct::TestBatch GwABatch(int n) {
  return {.agent_id = "gw-a",
          .batch_id = "gw-a-" + std::to_string(n),
          .first_seq = static_cast<uint64_t>(n) * 10,
          .events = 3,
          .windows = {}};
}

TEST_CASE("serve refuses incomplete or invalid --mqtt flags with exit 2",
          "[integration][issue-14]") {
  TempDir dir("mqtt-flags");
  const std::vector<std::string> base = {BinaryPath("tidegate-collector"),
                                         "serve",
                                         "--listen",
                                         "127.0.0.1:0",
                                         "--data-dir",
                                         dir.File("data")};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--mqtt", "mqtt://h:1883", "--group", "g"}, "TLS is required"},
      {{"--mqtt", "mqtts://h:8883"}, "--mqtt needs --group"},
      {{"--mqtt", "mqtts://h", "--group", "a/b"}, "--group 'a/b'"},
      {{"--mqtt", "mqtts://h", "--group", "g", "--mqtt-ca", "ca"}, "--mqtt needs --mqtt-cert"},
      {{"--group", "g"}, "need --mqtt"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult run = RequireValue(RunCommand(argv, std::chrono::seconds(10)));
    INFO(JoinArgv(argv) + "\n" + run.stderr_text);
    CHECK(run.exit_code == 2);
    CHECK(run.stderr_text.find(message) != std::string::npos);
  }
}

TEST_CASE("a batch published over MQTT lands and is acked, and a copy is acked duplicate",
          "[integration][issue-14]") {
  CloudBroker cloud;
  MqttCollector collector(cloud, cloud.collector1(), "collector-1");
  TestGateway gw(cloud);

  gw.PublishBatch(GwABatch(1));
  MqttMessage ack = gw.Ack(1);
  INFO(ReadFile(collector.LogPath()));
  CHECK(ack.topic == "tidegate/gw-a/acks");
  CHECK(ack.qos == 1);
  CHECK(ack.payload == R"({"batch_id":"gw-a-1","status":"landed"})");
  CHECK(ack.properties.correlation_data == "corr:gw-a-1");
  CHECK(ack.properties.content_type == "application/json");

  gw.PublishBatch(GwABatch(1));
  ack = gw.Ack(2);
  CHECK(ack.payload == R"({"batch_id":"gw-a-1","status":"duplicate"})");
  CHECK(ack.properties.correlation_data == "corr:gw-a-1");
  CHECK(collector.Events() == std::vector<std::string>{"gw-a/10", "gw-a/11", "gw-a/12"});
}

TEST_CASE("undecodable, mislabelled and foreign batches are acked rejected and land nothing",
          "[integration][issue-14]") {
  CloudBroker cloud;
  MqttCollector collector(cloud, cloud.collector1(), "collector-1");
  TestGateway gw(cloud);
  const std::string rejected = R"("status":"rejected","reason":)";

  gw.Publish("not a batch", gw.Properties("junk-1"));
  MqttMessage ack = gw.Ack(1);
  CHECK(ack.payload.find(R"({"batch_id":"junk-1",)" + rejected) == 0);
  CHECK(ack.properties.correlation_data == "corr:junk-1");

  ct::TestBatch foreign = GwABatch(2);
  foreign.agent_id = "gw-b";  // published on gw-a's topic
  gw.PublishBatch(foreign);
  ack = gw.Ack(2);
  CHECK(ack.payload.find(R"({"batch_id":"gw-a-2",)" + rejected) == 0);

  ct::TestBatch batch = GwABatch(3);
  gw.Publish(ct::Zstd(ct::BuildBatch(batch)), gw.Properties("another-id"));
  ack = gw.Ack(3);
  CHECK(ack.payload.find(rejected) != std::string::npos);
  CHECK(ack.properties.correlation_data == "corr:another-id");

  MqttProperties no_id = gw.Properties("x");
  no_id.user.erase(no_id.user.begin());  // no batch_id property
  gw.Publish(ct::Zstd(ct::BuildBatch(GwABatch(4))), no_id);
  ack = gw.Ack(4);
  CHECK(ack.payload.find(rejected) != std::string::npos);

  // A response topic other than tidegate/gw-a/acks gets no ack at all; the next batch's
  // ack proves it would have come before.
  MqttProperties elsewhere = gw.Properties("gw-a-5");
  elsewhere.response_topic = "tidegate/gw-b/acks";
  gw.Publish(ct::Zstd(ct::BuildBatch(GwABatch(5))), elsewhere);
  gw.PublishBatch(GwABatch(6));
  ack = gw.Ack(5);
  CHECK(ack.payload == R"({"batch_id":"gw-a-6","status":"landed"})");
  CHECK(gw.client().Messages().size() == 5);
  INFO(ReadFile(collector.LogPath()));
  // Only gw-a-5 (landed without an ack: the agent republishes it, then a duplicate) and 6.
  CHECK(collector.Events() ==
        std::vector<std::string>{"gw-a/50", "gw-a/51", "gw-a/52", "gw-a/60", "gw-a/61", "gw-a/62"});
  // No payload bytes in the log.
  CHECK(ReadFile(collector.LogPath()).find("\"n\"") == std::string::npos);
}

TEST_CASE(
    "a batch forged under another gateway's topic is refused by the broker and lands "
    "nothing; SIGTERM stops the collector cleanly",
    "[integration][issue-14]") {
  CloudBroker cloud;
  MqttCollector collector(cloud, cloud.collector1(), "collector-1");
  TestGateway gw(cloud);
  ct::TestBatch forged = GwABatch(1);
  forged.agent_id = "gw-b";
  forged.batch_id = "gw-b-1";
  MqttProperties props = gw.Properties("gw-b-1");
  props.response_topic = "tidegate/gw-b/acks";
  constexpr int kNotAuthorized = 0x87;
  CHECK(RequireValue(gw.client().Publish("tidegate/gw-b/batches", ct::Zstd(ct::BuildBatch(forged)),
                                         1, props)) == kNotAuthorized);
  // The sentinel: gw-a's own batch is acked after anything published before it.
  gw.PublishBatch(GwABatch(2));
  CHECK(gw.Ack(1).payload == R"({"batch_id":"gw-a-2","status":"landed"})");
  CHECK(collector.Events() == std::vector<std::string>{"gw-a/20", "gw-a/21", "gw-a/22"});
  CHECK(collector.process().Terminate(std::chrono::seconds(10)) == 0);
}

TEST_CASE("the collector reconnects after the broker restarts and keeps landing",
          "[integration][issue-14]") {
  CloudBroker cloud;
  MqttCollector collector(cloud, cloud.collector1(), "collector-1");
  {
    TestGateway gw(cloud);
    gw.PublishBatch(GwABatch(1));
    CHECK(gw.Ack(1).payload == R"({"batch_id":"gw-a-1","status":"landed"})");
  }
  const size_t subscriptions = cloud.Subscriptions("collector-1");
  RequireOkStatus(cloud.broker().Restart());
  INFO(ReadFile(collector.LogPath()) + cloud.broker().LogTail());
  REQUIRE(WaitUntil([&] { return cloud.Subscriptions("collector-1") > subscriptions; },
                    std::chrono::seconds(30)));
  TestGateway gw(cloud);
  gw.PublishBatch(GwABatch(2));
  CHECK(gw.Ack(1).payload == R"({"batch_id":"gw-a-2","status":"landed"})");
  CHECK(collector.process().Running());
}

TEST_CASE("two collectors in one group share the batches, each landing once",
          "[integration][issue-14]") {
  CloudBroker cloud;
  MqttCollector one(cloud, cloud.collector1(), "collector-1");
  MqttCollector two(cloud, cloud.collector2(), "collector-2");
  TestGateway gw(cloud);
  constexpr int kBatches = 20;
  for (int i = 1; i <= kBatches; ++i) gw.PublishBatch(GwABatch(i));
  gw.Ack(kBatches);
  std::set<std::string> acked;
  for (const MqttMessage& m : gw.client().Messages()) {
    CHECK(m.payload.find(R"("status":"landed")") != std::string::npos);
    acked.insert(m.properties.correlation_data);
  }
  CHECK(acked.size() == kBatches);

  const std::vector<std::string> a = one.Events();
  const std::vector<std::string> b = two.Events();
  CHECK_FALSE(a.empty());
  CHECK_FALSE(b.empty());
  std::map<std::string, int> seen;
  for (const std::string& k : a) ++seen[k];
  for (const std::string& k : b) ++seen[k];
  CHECK(seen.size() == size_t{3} * kBatches);
  for (const auto& [key, count] : seen) {
    INFO(key);
    CHECK(count == 1);
  }
}

}  // namespace
}  // namespace tidegate::testing
