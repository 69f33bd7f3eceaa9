// SPDX-License-Identifier: Apache-2.0
// Issue 10, key cardinality: a publisher inventing a new device id for every message must not
// grow the agent past buffer.state_max_bytes. A real broker, agent and TLS collector; a
// libmosquitto publisher in this test sends Devices() QoS 1 messages, each from a device id
// never seen before, into a per-device aggregation with forward_raw: false. Checks that the
// agent's peak RSS (VmHWM) stays within its baseline (measured after a warm-up with a few
// devices) plus the budget plus a stated slack, that the agent is still running, and that every
// message is accounted for: counted in a landed window result, or landed raw (refused by the
// budget, counted as over_budget on /metrics). The test prints its figures on stderr.
//
// The accounting is against what the agent received (tidegate_received_total), not against
// what was published: QoS 1 is at least once, and the publisher-to-broker-to-agent hops now and
// then deliver a run of messages twice without any reconnect in the broker's or the agent's log
// (seen: runs of 79, 173 and 500, in 3 of about 30 runs on a loaded machine). Dedup is off here
// (see kAggregateYaml), so those duplicates reach the aggregation as events of their own. That no
// message was lost before the agent is checked separately: it received at least what the broker
// acknowledged, and every raw-topic message id landed.
#include <fmt/format.h>
#include <mosquitto.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "common/clock.h"
#include "tests/integration/aggregate_reference.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
constexpr bool kAsan = __has_feature(address_sanitizer);
#else
constexpr bool kAsan = false;
#endif

// TIDEGATE_BUDGET_TEST_AGENT names another agent executable to run, built without sanitizers:
// CI's tree with tests is built with ASan+UBSan, and scripts/test.sh points this at its Release
// build's bin/tidegate so that the RSS bound is still checked there (ctest
// e2e_state_budget_rss). Empty: this build's agent.
std::string ExternalAgent() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests do not setenv
  const char* env = std::getenv("TIDEGATE_BUDGET_TEST_AGENT");
  return env != nullptr ? env : "";
}

// Whether the agent under test runs with ASan: slower, and its quarantine holds freed memory.
bool AgentSanitized() { return kAsan && ExternalAgent().empty(); }

// The million the issue asks for takes about 3 minutes on a busy 2-core machine (~6k
// messages/s end to end), within ctest's 300 s; TIDEGATE_BUDGET_TEST_DEVICES sets another count.
// A sanitized agent gets fewer devices, and its RSS bound is not checked (the accounting is):
// the 4 MiB budget holds about 5,000 groups, so 40,000 ids still spend most of the run over it.
int Devices() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests do not setenv
  if (const char* env = std::getenv("TIDEGATE_BUDGET_TEST_DEVICES")) return std::atoi(env);
  return AgentSanitized() ? 40'000 : 1'000'000;
}
constexpr uint64_t kBudget = 4ull << 20;
// What the agent may use above baseline + budget: the allocator's fragmentation between the
// threads' arenas and the raw path's buffers at a higher raw share than in the warm-up.
// Measured: +9.6 to +11.5 MB in total for the 4 MiB budget, 100,000 to 1,000,000 ids.
constexpr uint64_t kSlack = 12ull << 20;

// The dedup index is another per-key structure, bounded on its own (DedupIndex::kDefaultMaxKeys
// message ids, 40-60 MB); it is off here so that the peak measures the aggregation's state.
constexpr const char* kAggregateYaml = R"(dedup:
  window: 0
aggregate:
  - name: per_device
    match: devices/+/telemetry
    group_by: [device_id]
    window: {tumbling: 1m}
    measures:
      /temp: [count, sum, p50]
    watermark: {max_out_of_order: 1s, idle_timeout: 2s}
    forward_raw: false
)";

// QoS 1 publisher with at most kOutstanding messages unacknowledged. Publish and Finish run on
// the test thread; libmosquitto's network thread counts the acknowledgements.
class FloodPublisher {
 public:
  static constexpr uint64_t kOutstanding = 2'000;

  explicit FloodPublisher(int port) {
    mosquitto_lib_init();
    client_ = mosquitto_new("budget-flood", true, this);
    REQUIRE(client_ != nullptr);
    mosquitto_publish_callback_set(client_, &FloodPublisher::OnPublish);
    REQUIRE(mosquitto_max_inflight_messages_set(client_, 500) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_connect(client_, "127.0.0.1", port, 30) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_loop_start(client_) == MOSQ_ERR_SUCCESS);
  }
  ~FloodPublisher() {
    mosquitto_disconnect(client_);
    mosquitto_loop_stop(client_, false);
    mosquitto_destroy(client_);
    mosquitto_lib_cleanup();
  }
  FloodPublisher(const FloodPublisher&) = delete;
  FloodPublisher& operator=(const FloodPublisher&) = delete;

  void Publish(const std::string& topic, const std::string& payload) {
    std::unique_lock<std::mutex> lock(mu_);
    REQUIRE(
        acked_changed_.wait_for(lock, seconds(60), [&] { return sent_ - acked_ < kOutstanding; }));
    ++sent_;
    lock.unlock();
    REQUIRE(mosquitto_publish(client_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                              payload.data(), 1, false) == MOSQ_ERR_SUCCESS);
  }
  // Waits until the broker acknowledged every message; returns how many it acknowledged.
  uint64_t Finish(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    acked_changed_.wait_for(lock, timeout, [&] { return acked_ == sent_; });
    return acked_;
  }

 private:
  static void OnPublish(mosquitto*, void* self, int) {
    auto* p = static_cast<FloodPublisher*>(self);
    std::lock_guard<std::mutex> lock(p->mu_);
    ++p->acked_;
    p->acked_changed_.notify_all();
  }

  mosquitto* client_ = nullptr;
  std::mutex mu_;
  std::condition_variable acked_changed_;
  uint64_t sent_ = 0;   // guarded by mu_
  uint64_t acked_ = 0;  // guarded by mu_
};

// A field of /proc/<pid>/status in bytes ("VmHWM:  12345 kB"); 0 if absent.
uint64_t ProcStatusBytes(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

// Publishes `count` readings of `devices` devices (round robin) on <root>/<id>/telemetry.
void PublishReadings(FloodPublisher& publisher, const std::string& root, const std::string& prefix,
                     int devices, int count) {
  Clock& clock = RealClock();
  for (int i = 0; i < count; ++i) {
    const std::string id = prefix + std::to_string(i % devices);
    publisher.Publish(fmt::format("{}/{}/telemetry", root, id),
                      fmt::format(R"({{"device_id":"{}","msg_id":"{}{}{}","ts":{},"temp":{}}})", id,
                                  root, prefix, i, clock.NowUnixMs(), 18 + i % 13));
  }
}

double Sum(const std::vector<LandedAggregate>& aggregates) {
  double sum = 0;
  for (const LandedAggregate& a : aggregates) sum += a.measures.at("/temp").at("count");
  return sum;
}

Result<std::string> DumpAggregates(const E2eStack& stack) {
  TG_ASSIGN_OR_RETURN(CommandResult dump,
                      RunCommand({BinaryPath("tidegate-collector"), "dump", "--data-dir",
                                  stack.CollectorDataDir(), "aggregates"},
                                 seconds(120)));
  if (dump.exit_code != 0) return Internal("dump aggregates failed: " + dump.stderr_text);
  return std::move(dump.stdout_text);
}

// What `dump events` shows, counted by awk so that a million lines never sit in this process.
struct LandedRaw {
  size_t total = 0;
  size_t raw_topic = 0;      // raw/<id>/telemetry: the warm-up's unaggregated stream
  size_t raw_ids = 0;        // distinct msg_id values among those
  size_t devices_topic = 0;  // devices/<id>/telemetry: landed raw because the budget refused it
};

Result<LandedRaw> CountLandedEvents(const E2eStack& stack) {
  const std::string command =
      "'" + BinaryPath("tidegate-collector") + "' dump --data-dir '" + stack.CollectorDataDir() +
      "' events | awk '/\"topic\":\"raw\\//{r++; if (match($0, /\"msg_id\":\"[^\"]*\"/))"
      " ids[substr($0, RSTART, RLENGTH)] = 1} /\"topic\":\"devices\\//{d++}"
      " END{n = 0; for (k in ids) n++; print NR, r + 0, n, d + 0}'";
  TG_ASSIGN_OR_RETURN(CommandResult count, RunCommand({"/bin/sh", "-c", command}, seconds(120)));
  if (count.exit_code != 0) return Internal("dump events | awk failed: " + count.stderr_text);
  LandedRaw landed;
  std::istringstream in(count.stdout_text);
  if (!(in >> landed.total >> landed.raw_topic >> landed.raw_ids >> landed.devices_topic)) {
    return Internal("unexpected output of dump events | awk: " + count.stdout_text);
  }
  return landed;
}

}  // namespace

TEST_CASE("a stream of a million new device ids keeps the agent within its state budget",
          "[integration][slow][issue-10]") {
  E2eStack stack("state-budget");
  stack.mutable_options().agent_binary = ExternalAgent();
  stack.mutable_options().extra_agent_yaml = kAggregateYaml;
  stack.mutable_options().buffer_yaml =
      "  commit_interval: 50ms\n  state_max_bytes: " + std::to_string(kBudget) + "\n";
  // raw/+/telemetry is not aggregated: the warm-up runs the raw path too.
  stack.mutable_options().topics_yaml =
      "      - {filter: devices/+/telemetry, qos: 1, priority: 5}\n"
      "      - {filter: raw/+/telemetry, qos: 1, priority: 5}\n";
  RequireOk(stack.Start(), &stack);
  const int pid = stack.AgentPid();
  FloodPublisher publisher(stack.broker().port());

  // Warm-up at full speed with 50 devices, aggregated and raw: every buffer of the pipeline is
  // used while the state stays small.
  constexpr int kWarmupEach = 25'000, kWarmup = 2 * kWarmupEach;
  PublishReadings(publisher, "devices", "warm-", 50, kWarmupEach);
  PublishReadings(publisher, "raw", "warm-", 50, kWarmupEach);
  REQUIRE(publisher.Finish(seconds(60)) == kWarmup);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_ingested_total") >= kWarmup; }, seconds(60),
                    milliseconds(200)));
  const uint64_t baseline = ProcStatusBytes(pid, "VmHWM");
  REQUIRE(baseline > 0);

  const int devices = Devices();
  std::cerr << "publishing " << devices << " new device ids (TIDEGATE_BUDGET_TEST_DEVICES)\n";
  const auto started = std::chrono::steady_clock::now();
  PublishReadings(publisher, "devices", "d", devices, devices);
  REQUIRE(publisher.Finish(seconds(120)) == static_cast<uint64_t>(kWarmup + devices));
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_ingested_total") >= kWarmup + devices; },
                    seconds(120), milliseconds(500)));
  const double publish_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Every device goes idle after 2 s: its window closes and its result is uploaded.
  REQUIRE(WaitUntil(
      [&] {
        return stack.Metric("tidegate_aggregate_open_groups{aggregation=\"per_device\"}") == 0;
      },
      seconds(60), milliseconds(500)));
  REQUIRE(stack.WaitForDrained(seconds(120)));
  auto metric = [&](const std::string& series) { return stack.Metric(series).value_or(-1); };
  const std::string label = "{aggregation=\"per_device\"}";
  const uint64_t published = kWarmup + static_cast<uint64_t>(devices);
  // tidegate_ingested_total counts an event when it is handed to the committer, and the
  // buffer can read empty while the last events still wait there to be aggregated, or while
  // the last window results wait to be committed: settled means that what landed raw from the
  // aggregated topic is what the budget refused, and that the landed windows count the rest of
  // what the agent received (both checked again below), or time out.
  double received = -1;
  double over_budget = -1;
  LandedRaw landed;
  double in_windows = -1;
  size_t windows_landed = 0;
  const bool settled = WaitUntil(
      [&] {
        received = metric("tidegate_received_total");
        over_budget = metric("tidegate_aggregate_over_budget_total" + label);
        auto counted = CountLandedEvents(stack);
        landed = counted.ok() ? *counted : LandedRaw{};
        auto text = DumpAggregates(stack);
        auto aggregates = text.ok() ? ParseLandedAggregates(*text)
                                    : Result<std::vector<LandedAggregate>>(text.status());
        in_windows = aggregates.ok() ? Sum(*aggregates) : -1;
        windows_landed = aggregates.ok() ? aggregates->size() : 0;
        return static_cast<double>(landed.devices_topic) == over_budget &&
               in_windows + static_cast<double>(landed.total) == received;
      },
      seconds(60), seconds(1));
  CHECK(settled);
  const uint64_t peak = ProcStatusBytes(pid, "VmHWM");
  const uint64_t rss = ProcStatusBytes(pid, "VmRSS");
  REQUIRE(stack.AgentRunning());
  const double released = metric("tidegate_aggregate_budget_released_total" + label);
  const double too_late = metric(
      "tidegate_late_events_total{aggregation=\"per_device\",outcome="
      "\"too_late\"}");
  const double state_peak_bytes = metric("tidegate_aggregate_state_used_bytes");

  std::cerr << std::fixed << std::setprecision(0) << "state budget " << kBudget << " B, " << devices
            << " new device ids in " << publish_s << " s: agent VmHWM baseline " << baseline
            << " B, peak " << peak << " B (+" << (peak - baseline) << "), VmRSS at end " << rss
            << " B, state estimate now " << state_peak_bytes << " B; published " << published
            << ", received " << received << "; windows landed " << windows_landed << " counting "
            << in_windows << " events, raw landed " << landed.total << " (raw topic "
            << landed.raw_topic << " with " << landed.raw_ids << " distinct ids, aggregated topic "
            << landed.devices_topic << "), over_budget " << over_budget << ", budget_released "
            << released << ", too_late " << too_late << "\n";
  std::cerr << "agent " << stack.AgentBinary()
            << (AgentSanitized() ? " (sanitized: RSS not checked)" : "") << "\n";
  if (!AgentSanitized()) CHECK(peak <= baseline + kBudget + kSlack);
  CHECK(over_budget > 0);  // the run did reach the budget
  CHECK(too_late == 0);
  // Nothing was lost before the agent: it received at least what the broker acknowledged, and
  // every message of the unaggregated warm-up stream landed.
  CHECK(received >= static_cast<double>(published));
  CHECK(landed.raw_ids == static_cast<size_t>(kWarmupEach));
  // Everything the agent received is in a window or landed raw, and what landed raw from the
  // aggregated topic is what the budget refused (forward_raw: false keeps every other event of
  // it home).
  CHECK(in_windows + static_cast<double>(landed.total) == received);
  CHECK(static_cast<double>(landed.devices_topic) == over_budget);
  CHECK(landed.total == landed.raw_topic + landed.devices_topic);
}

}  // namespace tidegate::testing
