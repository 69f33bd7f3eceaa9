// SPDX-License-Identifier: Apache-2.0
// Issue 12, uplink.compression.dictionary end to end with real parts only (mosquitto, the
// agent, tidegate-collector over TLS, tidegate-sim): a dictionary trained with `tidegate-collector
// dict train` on batches the collector kept (--keep-raw) is given to the collector (--dictionary)
// and the agent; every event lands exactly once, over HTTPS and over the MQTT uplink, in frames
// that name the dictionary. An agent whose collector lacks its dictionary has its batches
// answered with a retry (HTTPS 503, MQTT ack retry) naming the dictionary ID: nothing is
// dead-lettered, the agent keeps them, and they land exactly once when the collector is
// restarted with the dictionary (a roll-out that reached the agents first). A config reload
// (SIGHUP) switches the dictionary live and refuses a file that is not one.
// Needs curl (scripts/install-deps.sh) for the collector's /v1/stats. Simulator seed:
// TestSeed() (printed).
#include <signal.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/cloud_broker.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"
#include "tests/support/zstd_dictionaries.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Publishes `count` events at `rate`/s with the test's seed and waits for the simulator.
std::vector<PublishedEvent> Publish(E2eStack& stack, int count, int rate, uint64_t seed) {
  RequireOk(stack.StartSim({"--count", std::to_string(count), "--rate", std::to_string(rate),
                            "--devices", "20", "--seed", std::to_string(seed)}),
            &stack);
  Result<int> sim = stack.WaitSim(seconds(60));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);
  return RequireValue(ReadPublishLog(stack.PublishLogPath()));
}

// The files the collector kept (--keep-raw) by the dictionary ID their frame names.
std::multimap<uint32_t, std::string> RawFilesByDictionaryId(const std::string& raw_dir) {
  std::multimap<uint32_t, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(raw_dir)) {
    files.emplace(FrameDictionaryId(ReadFile(entry.path().string())), entry.path().string());
  }
  return files;
}

TEST_CASE(
    "a dictionary trained from kept batches compresses every batch, and every event lands "
    "exactly once at a collector given it",
    "[integration][issue-12][zdict]") {
  StackOptions options;
  options.keep_raw = true;
  E2eStack stack("e2e-zdict", options);
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);

  // Batches of ~50 events (1,000/s, 50 ms linger): enough of them to train on.
  std::vector<PublishedEvent> published = Publish(stack, 3000, 1000, seed);
  if (!stack.WaitForLanded(3000, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  REQUIRE(stack.WaitForDrained(seconds(30)));

  const std::string dictionary = stack.dir().File("batches.dict");
  CommandResult trained =
      RequireValue(RunCommand({BinaryPath("tidegate-collector"), "dict", "train", "--out",
                               dictionary, "--size", "16KiB", stack.RawDir()}));
  INFO(trained.stdout_text << trained.stderr_text);
  REQUIRE(trained.exit_code == 0);
  const uint32_t id = TestDictionaryId(ReadFile(dictionary));
  REQUIRE(id != 0);
  CHECK_THAT(trained.stdout_text, Catch::Contains("dictionary ID " + std::to_string(id)));

  // The collector first (it must know the dictionary before any agent uses it), then the agent.
  RequireOk(stack.StopAgent(), &stack);
  RequireOk(stack.StopCollector(), &stack);
  stack.mutable_options().collector_args = {"--dictionary", dictionary};
  stack.mutable_options().uplink_extra_yaml = "  compression: {dictionary: " + dictionary + "}\n";
  RequireOk(stack.RewriteAgentConfig(), &stack);
  RequireOk(stack.StartCollector(), &stack);
  RequireOk(stack.StartAgent(), &stack);

  std::vector<PublishedEvent> more = Publish(stack, 5000, 2500, seed + 1);
  published.insert(published.end(), more.begin(), more.end());
  if (!stack.WaitForLanded(8000, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  REQUIRE(stack.WaitForDrained(seconds(30)));
  const DeliveryReport report = CompareByMsgId(published, RequireValue(stack.DumpEvents()));
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK(report.landed == 8000);
  CHECK(stack.Metric("tidegate_batches_rejected_total") == 0.0);

  // Frames before the dictionary name none; every later one names it.
  const std::multimap<uint32_t, std::string> files = RawFilesByDictionaryId(stack.RawDir());
  REQUIRE(files.count(id) > 0);
  CHECK(files.count(0) + files.count(id) == files.size());
  // `tidegate inspect` decodes a kept file with the dictionary, and says which one it lacks.
  const std::string kept = files.find(id)->second;
  CommandResult inspected =
      RequireValue(stack.RunTidegate({"inspect", "--dictionary", dictionary, kept}));
  CHECK(inspected.exit_code == 0);
  CHECK_THAT(inspected.stdout_text, Catch::Contains("\"agent_id\": \"e2e-gateway\""));
  CommandResult without = RequireValue(stack.RunTidegate({"inspect", kept}));
  CHECK(without.exit_code == 1);
  CHECK_THAT(without.stderr_text,
             Catch::Contains("zstd frame needs dictionary ID " + std::to_string(id)));
  CHECK_THAT(ReadFile(stack.AgentLogPath()),
             Catch::Contains("compressed with dictionary ID " + std::to_string(id)));
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

// The agent's rejected_batches rows (http_status, reason, count): none is expected here.
std::vector<std::vector<std::string>> RejectedBatches(const std::string& db_path) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  sqlite3_busy_timeout(raw, 2000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT http_status, reason, count FROM rejected_batches", -1,
                             &stmt, nullptr) == SQLITE_OK);
  std::vector<std::vector<std::string>> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    std::vector<std::string>& row = rows.emplace_back();
    for (int i = 0; i < 3; ++i) {
      row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i)));
    }
  }
  sqlite3_finalize(stmt);
  return rows;
}

// The collector's /v1/stats counter of bodies that needed a dictionary it lacks.
double UnknownDictionaryCount(E2eStack& stack) {
  CommandResult stats = RequireValue(
      RunCommand({"curl", "-sS", "--cacert", stack.certs().ca_cert,
                  "https://localhost:" + std::to_string(stack.collector_port()) + "/v1/stats"}));
  INFO(stats.stderr_text);
  REQUIRE(stats.exit_code == 0);
  const std::string key = "\"batches_unknown_dictionary\":";
  const size_t at = stats.stdout_text.find(key);
  REQUIRE(at != std::string::npos);
  return std::stod(stats.stdout_text.substr(at + key.size()));
}

TEST_CASE(
    "batches compressed with a dictionary the collector lacks are retried, not dead-lettered, "
    "and land once it has the dictionary",
    "[integration][issue-12][zdict]") {
  E2eStack stack("e2e-zdict-missing");
  const std::string dictionary = stack.dir().File("batches.dict");
  RequireOk(WriteFile(dictionary, TrainTestDictionary()));
  const std::string id = std::to_string(TestDictionaryId(ReadFile(dictionary)));
  stack.mutable_options().uplink_extra_yaml = "  compression: {dictionary: " + dictionary + "}\n";
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);

  const std::vector<PublishedEvent> published = Publish(stack, 500, 1000, seed);
  REQUIRE(published.size() == 500);
  // The collector answers 503 and counts each attempt; the agent keeps every batch.
  if (!WaitUntil([&] { return UnknownDictionaryCount(stack) >= 2; }, seconds(60),
                 milliseconds(100))) {
    FAIL("the collector saw no batch needing the dictionary\n" << stack.Diagnostics());
  }
  const std::string db_path = stack.StateDir() + "/buffer.db";
  CHECK(RejectedBatches(db_path).empty());
  CHECK(stack.Metric("tidegate_batches_rejected_total") == 0.0);
  CHECK(RequireValue(stack.DumpEvents()).empty());
  CHECK_THAT(ReadFile(stack.AgentLogPath()),
             Catch::Contains("zstd frame needs dictionary ID " + id));

  // The collector gets the dictionary (same port, same store): every event lands once.
  RequireOk(stack.StopCollector(), &stack);
  stack.mutable_options().collector_args = {"--dictionary", dictionary};
  RequireOk(stack.StartCollector(), &stack);
  if (!stack.WaitForLanded(500, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  REQUIRE(stack.WaitForDrained(seconds(30)));
  const DeliveryReport report = CompareByMsgId(published, RequireValue(stack.DumpEvents()));
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK(report.landed == 500);
  CHECK(RejectedBatches(db_path).empty());
  CHECK(stack.Metric("tidegate_batches_rejected_total") == 0.0);
}

// Points the agent's uplink at the cloud broker over MQTT with the gateway's certificate and
// `compression` (a YAML flow mapping), then starts it.
void StartMqttUplinkAgent(E2eStack& stack, CloudBroker& cloud, const CertAndKey& gw,
                          const std::string& compression) {
  StackOptions& o = stack.mutable_options();
  o.uplink_url = "mqtts://127.0.0.1:" + std::to_string(cloud.broker().tls_port());
  o.uplink_cert_file = gw.cert;
  o.uplink_key_file = gw.key;
  o.uplink_extra_yaml = "  transport: mqtt\n  compression: " + compression + "\n";
  RequireOk(stack.StartAgent(), &stack);
}

// Waits until `count` events landed at the MQTT collector and the agent's buffer drained, then
// compares them with what was published.
DeliveryReport WaitLandedAtMqttCollector(E2eStack& stack, const MqttCollector& collector,
                                         const std::vector<PublishedEvent>& published,
                                         size_t count) {
  // Acknowledged events leave the buffer; it may be empty before the agent ingested the last.
  if (!WaitUntil([&] { return collector.Events().size() >= count; }, seconds(90),
                 milliseconds(200))) {
    FAIL("not all landed\n" << stack.Diagnostics() << ReadFile(collector.LogPath()));
  }
  REQUIRE(stack.WaitForDrained(seconds(30)));
  CommandResult dump = RequireValue(RunCommand(
      {BinaryPath("tidegate-collector"), "dump", "--store", collector.DataDir(), "events"}));
  REQUIRE(dump.exit_code == 0);
  return CompareByMsgId(published, RequireValue(ParseLandedEvents(dump.stdout_text)));
}

TEST_CASE("over the MQTT uplink a batch compressed with a dictionary lands exactly once",
          "[integration][issue-12][zdict][mqtt]") {
  StackOptions options;
  options.agent_id = "e2e-zdict-mqtt";
  E2eStack stack("e2e-zdict-mqtt", options);
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  const std::string dictionary = stack.dir().File("batches.dict");
  RequireOk(WriteFile(dictionary, TrainTestDictionary()));
  CloudBroker cloud(&stack.certs());
  const CertAndKey gw =
      RequireValue(MakeClientCert(cloud.dir().path(), stack.certs(), options.agent_id, 20));
  MqttCollector collector(cloud, cloud.collector1(), "collector-1", {},
                          {"--dictionary", dictionary});

  StartMqttUplinkAgent(stack, cloud, gw, "{level: 3, dictionary: " + dictionary + "}");
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  const std::vector<PublishedEvent> published = Publish(stack, 2000, 2000, seed);
  const DeliveryReport report = WaitLandedAtMqttCollector(stack, collector, published, 2000);
  INFO(report.ToString() << stack.Diagnostics() << ReadFile(collector.LogPath()));
  CHECK(report.ExactlyOnce());
  CHECK(report.landed == 2000);
  CHECK(stack.Metric("tidegate_batches_rejected_total") == 0.0);
}

TEST_CASE(
    "over the MQTT uplink, batches whose dictionary the collector lacks are acknowledged with "
    "retry, kept, and land once it has the dictionary",
    "[integration][issue-12][zdict][mqtt]") {
  StackOptions options;
  options.agent_id = "e2e-zdict-mqtt-missing";
  E2eStack stack("e2e-zdict-mqtt-missing", options);
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker(), &stack);
  const std::string dictionary = stack.dir().File("batches.dict");
  RequireOk(WriteFile(dictionary, TrainTestDictionary()));
  const std::string id = std::to_string(TestDictionaryId(ReadFile(dictionary)));
  CloudBroker cloud(&stack.certs());
  const CertAndKey gw =
      RequireValue(MakeClientCert(cloud.dir().path(), stack.certs(), options.agent_id, 20));
  MqttCollector collector(cloud, cloud.collector1(), "collector-1");

  StartMqttUplinkAgent(stack, cloud, gw, "{dictionary: " + dictionary + "}");
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  const std::vector<PublishedEvent> published = Publish(stack, 500, 1000, seed);
  REQUIRE(published.size() == 500);
  // The agent logs the collector's retry reason (rate-limited) and keeps the batches.
  if (!WaitUntil(
          [&] {
            return ReadFile(stack.AgentLogPath()).find("zstd frame needs dictionary ID " + id) !=
                   std::string::npos;
          },
          seconds(60), milliseconds(100))) {
    FAIL("no retry for the dictionary\n" << stack.Diagnostics() << ReadFile(collector.LogPath()));
  }
  const std::string db_path = stack.StateDir() + "/buffer.db";
  CHECK(collector.Events().empty());
  CHECK(RejectedBatches(db_path).empty());
  CHECK(stack.Metric("tidegate_batches_rejected_total") == 0.0);

  // The collector restarts with the dictionary (same client id and session): all land once.
  collector.RestartWith({"--dictionary", dictionary});
  const DeliveryReport report = WaitLandedAtMqttCollector(stack, collector, published, 500);
  INFO(report.ToString() << stack.Diagnostics() << ReadFile(collector.LogPath()));
  CHECK(report.ExactlyOnce());
  CHECK(report.landed == 500);
  CHECK(RejectedBatches(db_path).empty());
}

// Rewrites the agent's uplink.compression.dictionary, sends SIGHUP and waits until the agent
// counted the apply as `series` (applied, or rejected by reason).
void ReloadDictionary(E2eStack& stack, const std::string& dictionary, const std::string& series) {
  stack.mutable_options().uplink_extra_yaml = "  compression: {dictionary: " + dictionary + "}\n";
  RequireOk(stack.RewriteAgentConfig(), &stack);
  REQUIRE(::kill(stack.AgentPid(), SIGHUP) == 0);
  if (!WaitUntil([&] { return stack.Metric(series) == 1.0; }, seconds(30), milliseconds(100))) {
    FAIL(series << " not reached\n" << stack.Diagnostics());
  }
}

TEST_CASE(
    "SIGHUP switches the dictionary live, refuses a file that is not one, and every event "
    "lands exactly once",
    "[integration][issue-12][zdict]") {
  StackOptions options;
  options.keep_raw = true;
  E2eStack stack("e2e-zdict-reload", options);
  const std::string a = stack.dir().File("a.dict");
  const std::string b = stack.dir().File("b.dict");
  const std::string not_dictionary = stack.dir().File("events.json");
  RequireOk(WriteFile(a, TrainTestDictionary(1)));
  RequireOk(WriteFile(b, TrainTestDictionary(2)));
  RequireOk(WriteFile(not_dictionary, R"({"temp":21.5})"));
  const uint32_t id_a = TestDictionaryId(ReadFile(a));
  const uint32_t id_b = TestDictionaryId(ReadFile(b));
  stack.mutable_options().collector_args = {"--dictionary", a, "--dictionary", b};
  stack.mutable_options().uplink_extra_yaml = "  compression: {dictionary: " + a + "}\n";
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);

  std::vector<PublishedEvent> published = Publish(stack, 300, 1000, seed);
  if (!stack.WaitForLanded(300, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  ReloadDictionary(stack, b, "tidegate_config_applied_total");
  const size_t kept_with_a = RawFilesByDictionaryId(stack.RawDir()).count(id_a);
  std::vector<PublishedEvent> more = Publish(stack, 300, 1000, seed + 1);
  published.insert(published.end(), more.begin(), more.end());
  if (!stack.WaitForLanded(600, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());

  // Refused like any invalid config (the file names the key); dictionary b stays in use.
  ReloadDictionary(stack, not_dictionary,
                   "tidegate_config_rejected_total{reason=\"invalid_config\"}");
  CHECK(stack.AgentRunning());
  CHECK_THAT(ReadFile(stack.AgentLogPath()), Catch::Contains("uplink.compression.dictionary"));
  more = Publish(stack, 300, 1000, seed + 2);
  published.insert(published.end(), more.begin(), more.end());
  if (!stack.WaitForLanded(900, seconds(60))) FAIL("not all landed\n" << stack.Diagnostics());
  REQUIRE(stack.WaitForDrained(seconds(30)));

  const DeliveryReport report = CompareByMsgId(published, RequireValue(stack.DumpEvents()));
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK(report.landed == 900);
  const std::multimap<uint32_t, std::string> files = RawFilesByDictionaryId(stack.RawDir());
  // None after the reload; fewer if a batch whose ack was in flight was resent (re-encoded with
  // b, the collector's copy replaced, the batch acknowledged as a duplicate).
  CHECK(files.count(id_a) <= kept_with_a);
  CHECK(files.count(id_b) > 0);
  CHECK(files.count(id_a) + files.count(id_b) == files.size());
}

}  // namespace
}  // namespace tidegate::testing
