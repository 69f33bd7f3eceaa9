// SPDX-License-Identifier: Apache-2.0
// E2eStack: the whole tidegate path on loopback for end-to-end tests, real parts only: a
// mosquitto broker, tidegate-collector over TLS (certificates from MakeTestCerts) on a fixed
// port so it can be restarted, the tidegate agent with a YAML config written into the test's
// directory, and tidegate-sim publishing with --log. Plus what the tests check with: the
// publish log and the collector's `dump events` parsed (simdjson), compared by payload msg_id,
// and the agent's /metrics. The stack owns every process it starts (killed when destroyed).
// Not thread-safe; use from the test's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tests/support/binaries.h"
#include "tests/support/certs.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace tidegate::testing {

struct StackOptions {
  std::string agent_id = "e2e-gateway";
  // The agent executable; empty: this build's bin/tidegate.
  std::string agent_binary = {};
  // source.mqtt.max_payload_bytes as written in YAML (e.g. "1KiB"); empty: the default.
  std::string max_payload_bytes = {};
  // Starts the collector with --keep-raw <dir>/raw.
  bool keep_raw = false;
  // agent.log_level of the agent's config.
  std::string log_level = "info";
  // agent.log_format of the agent's config; empty: not written (the default, logfmt).
  std::string log_format = {};
  // Arguments appended to `tidegate run -c CONFIG` (e.g. --log-format json).
  std::vector<std::string> agent_args = {};
  // Top-level YAML sections appended to the agent's config (e.g. a privacy section).
  std::string extra_agent_yaml = {};
  // Extra arguments for `tidegate-collector serve` (e.g. --recipient-key F).
  std::vector<std::string> collector_args = {};
  // The collector's --store, for serve and dump; empty: the directory <dir>/collector
  // (SQLite). E.g. a postgresql:// URL from tests/support/postgres_server.h.
  std::string collector_store = {};
  // Environment variables added for the collector process (e.g. a test hook).
  std::vector<std::pair<std::string, std::string>> collector_env = {};
  // Lines of the `source.mqtt.topics` list, each "      - {filter: ..., qos: 1, priority: N}\n".
  std::string topics_yaml = "      - {filter: devices/+/telemetry, qos: 1, priority: 5}\n";
  // Body of the `buffer:` section (indented two spaces).
  std::string buffer_yaml = "  commit_interval: 50ms\n";
  // uplink.url; empty: the collector's https://localhost:<port>/v1/batches. Lets a test put a
  // proxy between agent and collector.
  std::string uplink_url = {};
  // More keys of the `uplink:` section (indented two spaces), e.g. "  max_bytes_per_second:
  // 1000\n".
  std::string uplink_extra_yaml = {};
  // Body of the `events:` section. Every simulated event carries a unique msg_id: the
  // agent's ingest dedup key (SPEC).
  std::string events_yaml = "  id: {field: /msg_id}\n";
  // uplink.batch and uplink.retry: short, so tests do not wait.
  std::string uplink_batch_retry_yaml =
      "  batch: {linger: 50ms}\n  retry: {initial: 100ms, max: 1s}\n";
  // Environment variables added for the agent process (e.g. FaketimeEnv, to step its clock).
  std::vector<std::pair<std::string, std::string>> agent_env = {};
  // Certificates valid from this many days ago (see MakeTestCerts), for an agent whose wall
  // clock is set back.
  int cert_backdate_days = 0;
  // Starts the collector with the certificate of a CA the agent does not trust
  // (TestCerts::untrusted_server_cert); takes effect at the next StartCollector().
  bool collector_untrusted_cert = false;
  // Starts the collector with --client-ca <the test CA>: batches need a client certificate
  // that names their agent_id.
  bool collector_requires_client_cert = false;
  // uplink.tls.cert_file and key_file of the agent; empty: no client certificate.
  std::string uplink_cert_file = {};
  std::string uplink_key_file = {};
  // source.mqtt.port of the agent; 0: the broker's plain listener. Lets a test start the
  // agent before its broker, or point it at the broker's TLS listener.
  int mqtt_port = 0;
  // More keys of the `source.mqtt:` section (indented four spaces), e.g. a tls block.
  std::string mqtt_extra_yaml = {};
};

// One line of tidegate-sim's --log.
struct PublishedEvent {
  std::string topic;
  std::string msg_id;
  std::string device_id;
  int64_t ts_ms = 0;  // payload "ts" (unix ms)
  bool duplicate = false;
  std::string payload;  // CanonicalJson of the published payload
};

// One line of `tidegate-collector dump events`.
struct LandedEvent {
  std::string agent_id;
  uint64_t seq = 0;
  std::string topic;
  std::string device_id;
  std::string event_time;  // RFC 3339 as dumped
  int64_t event_time_ms = 0;
  int64_t ingest_time_ms = 0;
  bool late = false;
  std::string msg_id;   // payload "msg_id", empty if it has none
  std::string payload;  // CanonicalJson of the landed payload
};

// Published and landed events matched by payload msg_id.
struct DeliveryReport {
  size_t published = 0;   // distinct msg_ids published
  size_t landed = 0;      // landed lines
  size_t missing = 0;     // published, never landed
  size_t duplicated = 0;  // extra landed copies of a msg_id (a msg_id landed 3 times counts 2)
  size_t unknown = 0;     // landed with a msg_id nobody published (or none)
  std::vector<std::string> examples;  // a few offending msg_ids, for messages

  bool ExactlyOnce() const {
    return missing == 0 && duplicated == 0 && unknown == 0 && published == landed;
  }
  std::string ToString() const;
};

DeliveryReport CompareByMsgId(const std::vector<PublishedEvent>& published,
                              const std::vector<LandedEvent>& landed);

// JSON text with object keys sorted, no whitespace and numbers rewritten in one form, so
// two texts of the same value compare equal. kInvalidArgument if it is not JSON.
Result<std::string> CanonicalJson(std::string_view json);

// One schemas[] entry (name thermo, match devices/+/telemetry) declaring every field of the
// simulator's default payload with its type (no range rules), for extra_agent_yaml after a
// "schemas:" line; extra_fields (lines of "      /path: {...}") are appended to it.
std::string ThermoSchemaEntry(int64_t version, const std::string& extra_fields = "");

// Parses the simulator's publish log (NDJSON). kInvalidArgument names the bad line.
Result<std::vector<PublishedEvent>> ReadPublishLog(const std::string& path);

// Parses each non-empty line of NDJSON with parse_line(const std::string&) -> Result<T>.
// kInvalidArgument names the bad line ("<what> line N: why: text").
template <typename T, typename ParseLine>
Result<std::vector<T>> ParseNdjson(std::string_view ndjson, std::string_view what,
                                   ParseLine parse_line) {
  std::vector<T> out;
  size_t line_no = 0;
  while (!ndjson.empty()) {
    size_t newline = ndjson.find('\n');
    std::string line(ndjson.substr(0, newline));
    ndjson.remove_prefix(newline == std::string_view::npos ? ndjson.size() : newline + 1);
    ++line_no;
    if (line.empty()) continue;
    Result<T> item = parse_line(line);
    if (!item.ok()) {
      return InvalidArgument(std::string(what) + " line " + std::to_string(line_no) + ": " +
                             item.status().message() + ": " + line.substr(0, 200));
    }
    out.push_back(std::move(item).value());
  }
  return out;
}

// Parses `dump events` output. kInvalidArgument names the bad line.
Result<std::vector<LandedEvent>> ParseLandedEvents(std::string_view ndjson);

struct HttpResponse {
  int status = 0;
  std::string body;
};

// A plain HTTP/1.1 GET to 127.0.0.1:port (the agent's metrics endpoint), 5 s timeout.
Result<HttpResponse> HttpGet(int port, const std::string& path);

// The value of one series in a Prometheus text page, e.g.
// MetricValue(page, "tidegate_dropped_total{reason=\"malformed_json\"}"); nullopt if absent.
std::optional<double> MetricValue(std::string_view page, std::string_view series);

// A seed for the simulator or a test's random markers: Catch's --rng-seed if given, else a fresh
// one. Printed on stderr so a failing run can be repeated.
uint64_t TestSeed();

// REQUIREs status.ok(); on failure prints the status and, if given, stack->Diagnostics().
class E2eStack;
void RequireOk(const Status& status, const E2eStack* stack = nullptr);

class E2eStack {
 public:
  // Creates the test's directory (kept with TIDEGATE_KEEP_TEST_DIRS=1); starts nothing.
  explicit E2eStack(std::string_view label, StackOptions options = {});
  ~E2eStack() = default;
  E2eStack(const E2eStack&) = delete;
  E2eStack& operator=(const E2eStack&) = delete;

  // Certificates, broker, collector, agent config and agent; returns once the agent is
  // subscribed (QoS 1 messages published before that are not queued for it).
  Status Start();
  // Start() in steps, for tests that start the broker late or with other options:
  // Prepare() makes the certificates and starts the collector; StartBroker() starts the
  // broker in <dir>/broker (again after a Stop, e.g. with other certificates on the same
  // ports), always logging subscriptions.
  Status Prepare();
  Status StartBroker(BrokerOptions options = {});

  // The collector on its fixed port; waits until it listens. A first start whose port was
  // taken meanwhile retries on another (only before the agent config names the port).
  Status StartCollector();
  // SIGTERM; kInternal unless it exits 0 within 10 s.
  Status StopCollector();

  // Writes agent.yaml and starts `tidegate run`, stderr appended to agent.log; waits until
  // it is connected and subscribed and its metrics say so (tidegate_mqtt_connected 1).
  Status StartAgent();
  // Writes agent.yaml (first time) and starts `tidegate run` without waiting for anything:
  // the broker may not be up. WaitAgentConnected then waits until that agent is connected,
  // subscribed and healthy, and kills it on timeout (as StartAgent does).
  Status LaunchAgent();
  // Writes agent.yaml again from the current options (the agent reads it at its next start).
  Status RewriteAgentConfig() const { return WriteAgentConfig(); }
  Status WaitAgentConnected(std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the agent to exit on its own; its exit code, nullopt if it
  // still runs.
  std::optional<int> WaitAgentExit(std::chrono::milliseconds timeout) {
    return agent_.Wait(timeout);
  }
  // Notes the agent's connections and the broker's subscriptions so far, so that
  // WaitAgentConnected waits for a new one (a reconnect of the running agent).
  void ExpectReconnect();
  // SIGTERM; kInternal unless it exits 0 (a clean shutdown) within 15 s.
  Status StopAgent();
  bool AgentRunning() { return agent_.Running(); }
  // SIGKILL, as a crash would end it: no shutdown code runs. Returns once it is reaped.
  void KillAgent() { agent_.Kill(); }
  // The running agent's pid (e.g. to limit its resources from a test); -1 before start.
  int AgentPid() const { return agent_.pid(); }

  // Starts tidegate-sim against the broker with --qos 1 --log PublishLogPath() plus args.
  Status StartSim(const std::vector<std::string>& args);
  bool SimRunning() { return sim_.Running(); }
  // Waits for the simulator to exit; its exit code, or kUnavailable after timeout.
  Result<int> WaitSim(std::chrono::milliseconds timeout);

  // `tidegate-collector dump --store CollectorStore() events`, parsed.
  Result<std::vector<LandedEvent>> DumpEvents();
  // Polls the dump until at least `count` events have landed; false after timeout.
  bool WaitForLanded(size_t count, std::chrono::milliseconds timeout);

  // GET /metrics of the running agent.
  Result<std::string> Metrics();
  // GET path (/healthz, /readyz) on the agent's metrics port; fails the test if it cannot.
  HttpResponse Probe(const std::string& path);
  // One series of /metrics (see MetricValue); nullopt if the page or the series is missing.
  std::optional<double> Metric(std::string_view series);
  // Polls /metrics until the agent's buffer holds no record (everything acknowledged).
  bool WaitForDrained(std::chrono::milliseconds timeout);

  // `tidegate <args>`, e.g. {"buffer", "stats", "-c", AgentConfigPath()}.
  Result<CommandResult> RunTidegate(const std::vector<std::string>& args);

  // Everything a failing test wants to see: log tails of the agent, collector, broker, sim.
  std::string Diagnostics() const;

  const TempDir& dir() const { return dir_; }
  const TestCerts& certs() const { return certs_; }
  MosquittoBroker& broker() { return broker_; }
  const StackOptions& options() const { return options_; }
  // Options may change until Start() (which writes the config and starts the collector).
  StackOptions& mutable_options() { return options_; }
  int collector_port() const { return collector_port_; }
  int metrics_port() const { return metrics_port_; }
  std::string AgentBinary() const {
    return options_.agent_binary.empty() ? BinaryPath("tidegate") : options_.agent_binary;
  }
  std::string AgentConfigPath() const { return dir_.File("agent.yaml"); }
  // `tidegate run -c CONFIG` and options().agent_args.
  std::vector<std::string> AgentArgv() const {
    std::vector<std::string> argv = {AgentBinary(), "run", "-c", AgentConfigPath()};
    argv.insert(argv.end(), options_.agent_args.begin(), options_.agent_args.end());
    return argv;
  }
  std::string AgentLogPath() const { return dir_.File("agent.log"); }
  std::string StateDir() const { return dir_.File("state"); }
  std::string CollectorDataDir() const { return dir_.File("collector"); }
  // options().collector_store, or CollectorDataDir() when that is empty.
  std::string CollectorStore() const {
    return options_.collector_store.empty() ? CollectorDataDir() : options_.collector_store;
  }
  // The running collector's exit status once it ended on its own; nullopt while it runs.
  std::optional<int> WaitCollectorExit(std::chrono::milliseconds timeout) {
    return collector_.Wait(timeout);
  }
  std::string RawDir() const { return dir_.File("raw"); }
  std::string PublishLogPath() const { return dir_.File("published.ndjson"); }
  std::string ClientId() const { return "tidegate-" + label_; }

 private:
  Status StartCollectorOnce();
  Status WriteAgentConfig() const;
  Status WaitAgentReady(size_t connects_before, size_t subscribes_before,
                        std::chrono::milliseconds timeout);
  size_t AgentConnects() const;
  size_t BrokerSubscribes() const;

  std::string label_;
  StackOptions options_;
  TempDir dir_;
  TestCerts certs_;
  MosquittoBroker broker_;
  Process collector_;
  Process agent_;
  Process sim_;
  int collector_port_ = 0;
  int metrics_port_ = 0;
  bool agent_config_written_ = false;
  size_t launch_connects_ = 0;    // AgentConnects() when LaunchAgent ran
  size_t launch_subscribes_ = 0;  // BrokerSubscribes() when LaunchAgent ran
};

}  // namespace tidegate::testing
