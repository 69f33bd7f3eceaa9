// SPDX-License-Identifier: Apache-2.0
#include "agent/agent_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>

#include "agent/aggregate_stage.h"
#include "agent/config_apply.h"
#include "agent/dedup_restore.h"
#include "agent/health.h"
#include "agent/idle_trim.h"
#include "agent/ingest_pipeline.h"
#include "agent/metrics_aggregate.h"
#include "agent/metrics_mqtt.h"
#include "agent/metrics_page.h"
#include "agent/metrics_schema.h"
#include "agent/metrics_server.h"
#include "agent/mqtt_source.h"
#include "agent/privacy_stage.h"
#include "agent/remote_channels.h"
#include "agent/service_monitor.h"
#include "agent/service_notifier.h"
#include "agent/startup_summary.h"
#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "common/test_stall.h"
#include "filters/privacy_filter.h"
#include "filters/token_keys.h"
#include "schema/sealed_value.h"
#include "uplink/compression_dictionary.h"
#include "uplink/https_transport.h"
#include "uplink/mqtt_transport.h"
#include "uplink/uplink_worker.h"

namespace tidegate::agent {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

// Blocks the stop signals in every thread (call before starting any) and returns the set.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Returns the stop signal. Between signals, gives the monitor its turns (READY, STATUS and
// the watchdog pings are sent from this thread), and calls turn() on each (at least every
// 5 s): the applier's rollback judgement and the idle heap trim.
int WaitForStopSignal(const sigset_t& set, ServiceMonitor& monitor, ConfigApplier& applier,
                      const std::function<void()>& turn) {
  while (true) {
    // At least every 5 s, so a rollback comes within seconds of rollback_after.
    const Millis wait = std::min(monitor.Tick(), Millis(5'000));
    turn();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(wait);
    const timespec timeout{.tv_sec = static_cast<time_t>(secs.count()),
                           .tv_nsec = static_cast<long>((wait - secs).count() * 1'000'000)};
    const int sig = sigtimedwait(&set, nullptr, &timeout);
    if (sig < 0) continue;  // the timeout (EAGAIN), or EINTR
    if (sig == SIGHUP) {
      (void)applier.ReloadLocal();
      continue;
    }
    return sig;
  }
}

// Signals that must surface as errors instead of ending the agent.
void IgnoreFatalSignals() {
  // A file-size limit (RLIMIT_FSIZE) must surface as a write error, like a full disk, not
  // kill the agent: SQLite then fails the commit and ingest pauses until space returns.
  signal(SIGXFSZ, SIG_IGN);
  // A TLS peer that closes mid-handshake makes OpenSSL's write raise SIGPIPE, which would
  // end the agent (issue 11: it sometimes exited with a wrong broker CA).
  signal(SIGPIPE, SIG_IGN);
}

bool RefuseUnsupported(const Config& config) {
  const std::vector<UnsupportedFeature> unsupported = UnsupportedFeatures(config);
  for (const UnsupportedFeature& feature : unsupported) {
    spdlog::error("{}: {}", feature.key, feature.message);
  }
  return !unsupported.empty();
}

// The buffer's bounds, the part of buffer.* that also changes live (SqliteStore::SetBounds).
buffer::StoreOptions StoreBounds(const BufferSection& section) {
  return buffer::StoreOptions{.max_bytes = section.max_bytes,
                              .max_events = section.max_events,
                              .max_age = section.max_age,
                              .when_full = section.when_full};
}

Result<std::unique_ptr<buffer::SqliteStore>> OpenStore(const Config& config, Clock& clock) {
  buffer::StoreOptions options = StoreBounds(config.buffer);
  options.state_dir = config.agent.state_dir;
  options.sync = config.buffer.sync;
  options.clock = &clock;
  return buffer::SqliteStore::Open(options);
}

// The stages of a running agent, built step by step. Members are declared in start order,
// so they are destroyed in the reverse: metrics and MQTT first, the buffer last. Built and
// stopped on RunAgent's thread; the metrics server's thread calls RenderMetricsPage and
// Ready, which read only the stages' thread-safe stats.
class Agent final : public MqttUplinkLink {
 public:
  Agent(const Config& config, Clock& clock) : config_(config), clock_(clock) {}

  // Each step returns nullopt to go on, or the exit code to stop with.
  std::optional<int> LoadPrivacy();
  std::optional<int> LoadDictionary();
  // The live part of a config reload (ConfigApplier::LiveApply): a new privacy stage, picked
  // up by the ingest thread before its next message, the topics, and a changed HTTPS uplink
  // (ReplaceUplink). Everything that can fail is built before anything changes.
  Status ApplyLive(const Config& next);
  void set_applier(ConfigApplier* applier) { applier_ = applier; }
  void LogSecuritySummary() const;
  std::optional<int> OpenBuffer();
  void BuildPipeline();
  std::optional<int> Start();
  // Moves while the agent works: messages received plus batches sent (IdleTrim).
  uint64_t Activity() const {
    return pipeline_->metrics().received.load(std::memory_order_relaxed) +
           uplink_->stats().batches_sent.load(std::memory_order_relaxed);
  }
  int64_t UplinkFailingForMs() const {
    return ReadUplinkHealth(uplink_->stats(), clock_).failing_for_ms;
  }
  // The uplink's MQTT connection (null for HTTPS), for the MQTT remote-config channel.
  MqttUplinkLink* mqtt_link() { return mqtt_transport_ ? this : nullptr; }
  void AttachSideChannel(uplink::MqttSideChannel* channel) override;
  Status PublishSide(const std::string& topic, std::string_view payload, bool retain) override;
  // Ready, or why not: what OpAMP reports as the agent's health.
  remote::opamp::HealthReport Health() const {
    std::string why;
    const bool ready = Ready(&why);
    return {.healthy = ready, .status = ready ? "ready" : why, .last_error = ready ? "" : why};
  }
  MonitoredParts monitored_parts() const {
    return {.source = *source_, .committer = *committer_, .uplink = *uplink_, .store = *store_};
  }
  int Shutdown(int sig);

 private:
  using Dictionary = std::shared_ptr<const uplink::CompressionDictionary>;
  std::string RenderMetricsPage() const;
  bool Ready(std::string* why) const;
  std::vector<uplink::Transport*> HttpsSenders() const {
    std::vector<uplink::Transport*> senders;
    for (const auto& t : transports_) senders.push_back(t.get());
    return senders;
  }
  // Stops the uplink worker (its unacknowledged batches stay recorded in flight), points it
  // at `transports` (one per HTTPS connection) and `uplink`, and starts it again: it resends
  // those batches, same ids, to the new endpoint before any new one. The buffer is not
  // touched.
  void ReplaceUplink(std::vector<std::unique_ptr<uplink::HttpsTransport>> transports,
                     const UplinkSection& uplink, const Dictionary& dictionary);
  // The same for the MQTT transport: the old connection is closed, the new one (with the
  // MQTT config channel attached) started; batches in flight are republished, same ids.
  void ReplaceMqttUplink(const std::shared_ptr<uplink::MqttTransport>& transport,
                         const UplinkSection& uplink, const Dictionary& dictionary);

  const Config& config_;
  Clock& clock_;
  // The privacy stage the metrics page reads; the pipeline holds its own reference.
  mutable std::mutex privacy_mu_;
  std::shared_ptr<PrivacyStage> privacy_;  // guarded by privacy_mu_
  ConfigApplier* applier_ = nullptr;
  std::unique_ptr<buffer::SqliteStore> store_;
  // Exactly one of the two, by uplink.transport.
  std::vector<std::unique_ptr<uplink::HttpsTransport>> transports_;  // one per connection
  // Replaced by ReplaceMqttUplink (under mqtt_mu_); PublishSide holds a reference while it
  // publishes, from the config channel's thread.
  std::shared_ptr<uplink::MqttTransport> mqtt_transport_;
  mutable std::mutex mqtt_mu_;
  uplink::MqttSideChannel* side_channel_ = nullptr;
  UplinkSection uplink_config_;  // the running uplink section; changed by ReplaceUplink
  Dictionary dictionary_;        // uplink.compression.dictionary at start; null: none
  BufferSection buffer_config_;  // the running buffer section; its bounds change live
  // The running aggregations (changed by ApplyLive).
  std::vector<AggregateSpec> aggregates_config_;
  std::unique_ptr<AggregateStage> aggregate_stage_;
  std::unique_ptr<buffer::GroupCommitter> committer_;
  std::unique_ptr<uplink::UplinkWorker> uplink_;
  std::unique_ptr<IngestPipeline> pipeline_;
  std::unique_ptr<MqttSource> source_;
  std::unique_ptr<MetricsServer> metrics_;
};

std::optional<int> Agent::LoadPrivacy() {
  auto privacy = BuildPrivacyStage(config_, RealClock());
  if (!privacy.ok()) {
    spdlog::error("privacy: {}", privacy.status().message());
    return kExitBadConfig;
  }
  privacy_ = std::move(privacy).value();
  return std::nullopt;
}

// Read once here and again at each config apply that changes the uplink section: a new file
// under the same path with nothing else changed is picked up at the next restart.
std::optional<int> Agent::LoadDictionary() {
  auto dictionary = uplink::LoadUplinkDictionary(config_.uplink);
  if (!dictionary.ok()) {
    spdlog::error("{}", dictionary.status().message());
    return kExitBadConfig;
  }
  dictionary_ = std::move(dictionary).value();
  if (dictionary_) {
    spdlog::info("uplink: batches are compressed with dictionary ID {} ({} bytes)",
                 dictionary_->id(), dictionary_->size());
  }
  return std::nullopt;
}

Status Agent::ApplyLive(const Config& next) {
  TG_ASSIGN_OR_RETURN(std::shared_ptr<PrivacyStage> stage, BuildPrivacyStage(next, RealClock()));
  std::vector<std::unique_ptr<uplink::HttpsTransport>> transports;
  std::shared_ptr<uplink::MqttTransport> mqtt_transport;
  Dictionary dictionary;
  if (!(next.uplink == uplink_config_)) {
    TG_ASSIGN_OR_RETURN(dictionary, uplink::LoadUplinkDictionary(next.uplink));
    if (next.uplink.transport != uplink_config_.transport) {
      return InvalidArgument("the uplink transport changes only at a restart");
    }
    if (!transports_.empty()) {
      const size_t connections = uplink::HttpsConnections(next.uplink, store_->limits().data_bytes);
      for (size_t i = 0; i < connections; ++i) {
        TG_ASSIGN_OR_RETURN(auto transport, uplink::HttpsTransport::Create(next.uplink));
        transports.push_back(std::move(transport));
      }
    } else {
      TG_ASSIGN_OR_RETURN(mqtt_transport, uplink::MqttTransport::Create(
                                              next.uplink, config_.agent.id, RandomSeed()));
    }
  }
  if (!(next.buffer == buffer_config_)) {
    // First of the changes: a failure here leaves everything as it was.
    TG_RETURN_IF_ERROR(store_->SetBounds(StoreBounds(next.buffer)));
    buffer_config_ = next.buffer;
  }
  pipeline_->SetPrivacy(stage);
  source_->SetTopics(next.mqtt.topics);
  if (!transports.empty()) ReplaceUplink(std::move(transports), next.uplink, dictionary);
  if (mqtt_transport) ReplaceMqttUplink(mqtt_transport, next.uplink, dictionary);
  if (!(next.aggregates == aggregates_config_)) {
    aggregate_stage_->Reconfigure(next);
    aggregates_config_ = next.aggregates;
  }
  const std::lock_guard<std::mutex> lock(privacy_mu_);
  privacy_ = std::move(stage);
  return Status::Ok();
}

void Agent::ReplaceUplink(std::vector<std::unique_ptr<uplink::HttpsTransport>> transports,
                          const UplinkSection& uplink, const Dictionary& dictionary) {
  uplink_->Stop();
  // The old transports are destroyed at the end of this scope, after the worker let go of them.
  std::swap(transports_, transports);
  uplink_->Rebind(HttpsSenders(), uplink);
  uplink_->SetDictionary(dictionary);
  uplink_config_ = uplink;
  uplink_->Start();
  spdlog::info("uplink: now delivering to {}; batches in flight are resent there first",
               UrlHostPort(uplink.url));
}

void Agent::ReplaceMqttUplink(const std::shared_ptr<uplink::MqttTransport>& transport,
                              const UplinkSection& uplink, const Dictionary& dictionary) {
  uplink_->Stop();
  std::shared_ptr<uplink::MqttTransport> old;
  {
    const std::lock_guard<std::mutex> lock(mqtt_mu_);
    old = mqtt_transport_;
  }
  old->Stop();
  transport->AttachSideChannel(side_channel_);
  uplink_->Rebind(*transport, uplink);
  uplink_->SetDictionary(dictionary);
  {
    const std::lock_guard<std::mutex> lock(mqtt_mu_);
    mqtt_transport_ = transport;
  }
  uplink_config_ = uplink;
  transport->Start();
  uplink_->Start();
  spdlog::info("uplink: now publishing to {}; batches in flight are republished there first",
               UrlHostPort(uplink.url));
}

void Agent::AttachSideChannel(uplink::MqttSideChannel* channel) {
  side_channel_ = channel;
  mqtt_transport_->AttachSideChannel(channel);
}

Status Agent::PublishSide(const std::string& topic, std::string_view payload, bool retain) {
  std::shared_ptr<uplink::MqttTransport> transport;
  {
    const std::lock_guard<std::mutex> lock(mqtt_mu_);
    transport = mqtt_transport_;
  }
  return transport->PublishSide(topic, payload, retain);
}

void Agent::LogSecuritySummary() const {
  for (const std::string& line :
       SecuritySummary(config_, privacy_->keys.has_value() ? &*privacy_->keys : nullptr)) {
    spdlog::info("{}", line);
  }
}

// Opens the buffer and the uplink's transport and restores the aggregation checkpoint.
std::optional<int> Agent::OpenBuffer() {
  auto store = OpenStore(config_, clock_);
  if (!store.ok()) {
    spdlog::error("cannot open the buffer: {}", store.status().ToString());
    return kExitFailure;
  }
  store_ = std::move(store).value();
  uplink_config_ = config_.uplink;
  aggregates_config_ = config_.aggregates;
  buffer_config_ = config_.buffer;
  if (config_.uplink.transport == Transport::kMqtt) {
    auto transport = uplink::MqttTransport::Create(config_.uplink, config_.agent.id, RandomSeed());
    if (!transport.ok()) {
      spdlog::error("cannot set up the uplink: {}", transport.status().ToString());
      return kExitFailure;
    }
    mqtt_transport_ = std::move(transport).value();
  } else {
    const size_t connections =
        uplink::HttpsConnections(config_.uplink, store_->limits().data_bytes);
    for (size_t i = 0; i < connections; ++i) {
      auto transport = uplink::HttpsTransport::Create(config_.uplink);
      if (!transport.ok()) {
        spdlog::error("cannot set up the uplink: {}", transport.status().ToString());
        return kExitFailure;
      }
      transports_.push_back(std::move(transport).value());
    }
  }
  aggregate_stage_ = std::make_unique<AggregateStage>(config_, *store_);
  // Also when no aggregation is configured any more: its old checkpoint rows are erased.
  if (Status restored = RestoreAggregation(aggregate_stage_->writer_aggregator(), *store_);
      !restored.ok()) {
    spdlog::error("cannot restore the aggregation checkpoint: {}", restored.ToString());
    return kExitFailure;
  }
  return std::nullopt;
}

// The writer, the uplink worker, the ingest pipeline and the MQTT source (not started).
void Agent::BuildPipeline() {
  committer_ = std::make_unique<buffer::GroupCommitter>(
      *store_, buffer::CommitterOptions{
                   .commit_interval = config_.buffer.commit_interval,
                   // Clamped: size_t is 32 bits on armhf, the limit may be larger.
                   .max_staged_bytes = static_cast<size_t>(std::min<uint64_t>(
                       store_->limits().staging_bytes, std::numeric_limits<size_t>::max())),
                   // Also without aggregations: a live apply may add one.
                   .stage = aggregate_stage_.get(),
               });
  uplink_ = mqtt_transport_
                ? std::make_unique<uplink::UplinkWorker>(*store_, *mqtt_transport_, config_.uplink,
                                                         config_.agent.id, clock_, RandomSeed())
                : std::make_unique<uplink::UplinkWorker>(*store_, HttpsSenders(), config_.uplink,
                                                         config_.agent.id, clock_, RandomSeed());
  uplink_->SetSchemas(config_.schemas);
  uplink_->SetDictionary(dictionary_);
  pipeline_ = std::make_unique<IngestPipeline>(config_, *committer_, store_->age_clock(), privacy_);
  pipeline_->SetDedupHash(store_->dedup_hash_key(), store_->dedup_legacy_until());
  Status keys = RestoreDedupWindow(*store_, *pipeline_);
  if (!keys.ok()) {
    spdlog::error("cannot load dedup keys, the dedup window keeps what was read: {}",
                  keys.ToString());
  }
  source_ = std::make_unique<MqttSource>(
      config_.mqtt, [pipeline = pipeline_.get()](std::string_view topic, std::string_view payload) {
        pipeline->OnMessage(topic, payload);
      });
}

std::string Agent::RenderMetricsPage() const {
  std::shared_ptr<PrivacyStage> privacy;
  {
    const std::lock_guard<std::mutex> lock(privacy_mu_);
    privacy = privacy_;
  }
  std::string page = RenderMetrics(config_, pipeline_->metrics(), privacy->filter.get(),
                                   *committer_, uplink_->stats(), *store_);
  if (applier_ != nullptr) applier_->AppendMetrics(&page);
  AppendAggregationMetrics(*aggregate_stage_->aggregator(), &page);
  AppendSchemaMetrics(*pipeline_, &page);
  AppendMqttMetrics(*source_, &page);
  AppendUplinkFailingMetrics(ReadUplinkHealth(uplink_->stats(), clock_), &page);
  return page;
}

bool Agent::Ready(std::string* why) const {
  return CheckReady(ReadinessInputs{.source = *source_,
                                    .committer = *committer_,
                                    .uplink = uplink_->stats(),
                                    .uplink_threshold = UplinkFailingThreshold(config_.uplink),
                                    .clock = clock_},
                    why);
}

// Serves metrics and the probes, then starts the uplink and the MQTT source.
std::optional<int> Agent::Start() {
  metrics_ = std::make_unique<MetricsServer>(
      [this] { return RenderMetricsPage(); },
      [this](std::string* why) { return CheckLive(*committer_, clock_, why); },
      [this](std::string* why) { return Ready(why); });
  if (!config_.agent.metrics_listen.empty()) {
    Status status = metrics_->Start(config_.agent.metrics_listen);
    if (!status.ok()) {
      spdlog::error("{}", status.ToString());
      return kExitFailure;
    }
  }
  if (mqtt_transport_) mqtt_transport_->Start();
  uplink_->Start();
  Status started = source_->Start();
  if (!started.ok()) {
    spdlog::error("cannot start the MQTT source: {}", started.ToString());
    uplink_->Stop();
    return kExitFailure;
  }
  spdlog::info("tidegate {} running: agent {} buffer {} uplink {}", TIDEGATE_VERSION,
               config_.agent.id, store_->path(), UrlHostPort(config_.uplink.url));
  return std::nullopt;
}

// Stops in the order that loses nothing: MQTT first (no new messages), then the writer
// commits what is staged, then the uplink (its in-flight batch stays recorded).
int Agent::Shutdown(int sig) {
  spdlog::info("signal {} received, shutting down", sig);
  source_->Stop();
  Status flushed = committer_->Stop();
  uplink_->Stop();
  if (mqtt_transport_) mqtt_transport_->Stop();
  metrics_->Stop();
  if (!flushed.ok()) {
    spdlog::error("could not commit staged events at shutdown: {}", flushed.ToString());
    return kExitFailure;
  }
  spdlog::info("stopped cleanly");
  return kExitOk;
}

}  // namespace

std::vector<UnsupportedFeature> UnsupportedFeatures(const Config& config) {
  (void)config;  // none today
  return {};
}

int RunAgent(const Config& config, const std::string& config_path) {
  if (RefuseUnsupported(config)) return kExitBadConfig;
  if (std::optional<std::string> hook = ArmTestStallFromEnvironment()) spdlog::warn("{}", *hook);
  sigset_t stop_signals = BlockStopSignals();
  // Declared before the agent so that it outlives the uplink transport's thread, which
  // calls into the MQTT channel until the agent stops it.
  std::unique_ptr<RemoteChannels> channels;
  Agent agent(config, RealClock());
  if (auto code = agent.LoadPrivacy()) return *code;
  if (auto code = agent.LoadDictionary()) return *code;
  agent.LogSecuritySummary();
  IgnoreFatalSignals();
  if (auto code = agent.OpenBuffer()) return *code;
  agent.BuildPipeline();
  auto applier = ConfigApplier::Create(
      config_path, config, [&agent](const Config& next) { return agent.ApplyLive(next); });
  if (!applier.ok()) {
    spdlog::error("remote_config: {}", applier.status().message());
    return kExitBadConfig;
  }
  auto created = RemoteChannels::Create(
      config, config_path, **applier, agent.mqtt_link(), [&agent] { return agent.Health(); },
      RealClock());
  if (!created.ok()) {
    spdlog::error("remote_config: {}", created.status().message());
    return kExitBadConfig;
  }
  channels = std::move(created).value();
  agent.set_applier(applier->get());
  if (auto code = agent.Start()) return *code;
  if (channels) channels->Start();
  ServiceNotifier notifier;
  ServiceMonitor monitor(notifier, agent.monitored_parts(), config, RealClock());
  IdleTrim idle_trim;
  const int sig = WaitForStopSignal(stop_signals, monitor, **applier, [&] {
    (*applier)->CheckRollback(
        agent.UplinkFailingForMs(),
        std::chrono::duration_cast<Millis>(RealClock().Monotonic().time_since_epoch()));
    idle_trim.Turn(agent.Activity());
  });
  monitor.Stopping();
  if (channels) channels->Stop();  // no apply while the pipeline stops
  return agent.Shutdown(sig);
}

}  // namespace tidegate::agent
