// SPDX-License-Identifier: Apache-2.0
#include "agent/agent_runner.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

#include "agent/aggregate_stage.h"
#include "agent/ingest_pipeline.h"
#include "agent/metrics_mqtt.h"
#include "agent/metrics_page.h"
#include "agent/metrics_server.h"
#include "agent/mqtt_source.h"
#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "common/clock.h"
#include "filters/privacy_filter.h"
#include "filters/token_keys.h"
#include "schema/sealed_value.h"
#include "uplink/https_transport.h"
#include "uplink/uplink_worker.h"

namespace tidegate::agent {
namespace {

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

int WaitForStopSignal(const sigset_t& set) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP received; reloading the local config is not supported yet, ignored");
      continue;
    }
    return sig;
  }
}

bool RefuseUnsupported(const Config& config) {
  const std::vector<UnsupportedFeature> unsupported = UnsupportedFeatures(config);
  for (const UnsupportedFeature& feature : unsupported) {
    spdlog::error("{}: {}", feature.key, feature.message);
  }
  return !unsupported.empty();
}

// Loads the privacy keys and builds the privacy stage, or null when there are no rules.
// *keys must outlive the filter.
Result<std::unique_ptr<filters::PrivacyFilter>> MakePrivacyFilter(
    const Config& config, std::optional<filters::TokenKeySet>* keys) {
  if (config.privacy.rules.empty()) return std::unique_ptr<filters::PrivacyFilter>();
  if (!config.privacy.key_file.empty()) {
    TG_ASSIGN_OR_RETURN(*keys, filters::TokenKeySet::Load(config.privacy.key_file));
  }
  std::optional<schema::PublicKey> recipient;
  if (!config.privacy.recipient_public_key.empty()) {
    TG_ASSIGN_OR_RETURN(std::string text,
                        filters::ReadSmallFile(config.privacy.recipient_public_key));
    auto parsed = schema::ParsePublicKeyHex(text);
    if (!parsed.ok()) {
      return InvalidArgument(config.privacy.recipient_public_key + ": " +
                             parsed.status().message());
    }
    recipient = *parsed;
  }
  return filters::PrivacyFilter::Create(config.privacy, keys->has_value() ? &**keys : nullptr,
                                        recipient, RealClock());
}

}  // namespace

std::vector<UnsupportedFeature> UnsupportedFeatures(const Config& config) {
  std::vector<UnsupportedFeature> unsupported;
  if (config.uplink.transport != Transport::kHttps) {
    unsupported.push_back({"uplink.transport", "mqtt is not supported by this build yet"});
  }
  if (config.remote_config.enabled) {
    unsupported.push_back(
        {"remote_config.enabled", "remote_config is not supported by this build yet"});
  }
  return unsupported;
}

int RunAgent(const Config& config) {
  if (RefuseUnsupported(config)) return 2;
  sigset_t stop_signals = BlockStopSignals();
  Clock& clock = RealClock();
  std::optional<filters::TokenKeySet> token_keys;
  auto privacy = MakePrivacyFilter(config, &token_keys);
  if (!privacy.ok()) {
    spdlog::error("privacy: {}", privacy.status().message());
    return 2;
  }

  // A file-size limit (RLIMIT_FSIZE) must surface as a write error, like a full disk, not
  // kill the agent: SQLite then fails the commit and ingest pauses until space returns.
  signal(SIGXFSZ, SIG_IGN);
  // A TLS peer that closes mid-handshake makes OpenSSL's write raise SIGPIPE, which would
  // end the agent (issue 11: it sometimes exited with a wrong broker CA).
  signal(SIGPIPE, SIG_IGN);
  auto store =
      buffer::SqliteStore::Open(buffer::StoreOptions{.state_dir = config.agent.state_dir,
                                                     .sync = config.buffer.sync,
                                                     .max_bytes = config.buffer.max_bytes,
                                                     .max_events = config.buffer.max_events,
                                                     .max_age = config.buffer.max_age,
                                                     .when_full = config.buffer.when_full,
                                                     .clock = &clock});
  if (!store.ok()) {
    spdlog::error("cannot open the buffer: {}", store.status().ToString());
    return 1;
  }
  auto transport = uplink::HttpsTransport::Create(config.uplink);
  if (!transport.ok()) {
    spdlog::error("cannot set up the uplink: {}", transport.status().ToString());
    return 1;
  }
  filters::Aggregator aggregator(config);
  AggregateStage aggregate_stage(aggregator);
  // Also when no aggregation is configured any more: its old checkpoint rows are erased.
  if (Status restored = RestoreAggregation(aggregator, **store); !restored.ok()) {
    spdlog::error("cannot restore the aggregation checkpoint: {}", restored.ToString());
    return 1;
  }
  buffer::GroupCommitter committer(**store,
                                   buffer::CommitterOptions{
                                       .commit_interval = config.buffer.commit_interval,
                                       .max_staged_bytes = (*store)->limits().staging_bytes,
                                       .stage = aggregator.empty() ? nullptr : &aggregate_stage,
                                   });
  uplink::UplinkWorker uplink(**store, **transport, config.uplink, config.agent.id, clock,
                              RandomSeed());
  IngestPipeline pipeline(config, committer, (*store)->age_clock(), privacy->get());
  if (auto keys = (*store)->LoadDedupKeys((*store)->age_clock().Now().age_ms); keys.ok()) {
    pipeline.LoadDedupKeys(*keys);
  } else {
    spdlog::error("cannot load dedup keys, the dedup window starts empty: {}",
                  keys.status().ToString());
  }
  MqttSource source(config.mqtt, [&pipeline](std::string_view topic, std::string_view payload) {
    pipeline.OnMessage(topic, payload);
  });
  MetricsServer metrics(
      [&] {
        std::string page = RenderMetrics(config, pipeline.metrics(), privacy->get(), committer,
                                         uplink.stats(), **store);
        AppendAggregationMetrics(aggregator, &page);
        AppendMqttMetrics(source, &page);
        return page;
      },
      [&](std::string* why) { return CheckHealth(source, committer, why); });

  if (!config.agent.metrics_listen.empty()) {
    Status status = metrics.Start(config.agent.metrics_listen);
    if (!status.ok()) {
      spdlog::error("{}", status.ToString());
      return 1;
    }
  }
  uplink.Start();
  Status started = source.Start();
  if (!started.ok()) {
    spdlog::error("cannot start the MQTT source: {}", started.ToString());
    uplink.Stop();
    return 1;
  }
  spdlog::info("tidegate {} running: agent {} buffer {} uplink {}", TIDEGATE_VERSION,
               config.agent.id, (*store)->path(), config.uplink.url);

  int sig = WaitForStopSignal(stop_signals);
  spdlog::info("signal {} received, shutting down", sig);
  source.Stop();
  Status flushed = committer.Stop();
  uplink.Stop();
  metrics.Stop();
  if (!flushed.ok()) {
    spdlog::error("could not commit staged events at shutdown: {}", flushed.ToString());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace tidegate::agent
