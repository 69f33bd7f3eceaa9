// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_page.h"

#include "agent/prometheus_text.h"
#include "common/clock.h"

namespace tidegate::agent {
namespace {

double Counter(const buffer::StoreStats& stats, const std::string& name) {
  auto it = stats.counters.find(name);
  return it == stats.counters.end() ? 0 : static_cast<double>(it->second);
}

// The buffer's own drops, in the tidegate_dropped_total family (persisted counters, so they
// survive restarts); window results are counted apart.
void RenderBufferDrops(std::string* out, const buffer::StoreStats& stats) {
  for (const char* reason : {"buffer_full", "max_events", "max_age"}) {
    Sample(out, "tidegate_dropped_total", Counter(stats, std::string("dropped.") + reason),
           "{" + Label("reason", reason) + "}");
  }
  FamilyHeader(out, "tidegate_dropped_window_results_total", "counter",
               "Window results dropped by the buffer, by reason");
  for (const char* reason : {"buffer_full", "max_events"}) {
    Sample(out, "tidegate_dropped_window_results_total",
           Counter(stats, std::string("dropped_window_results.") + reason),
           "{" + Label("reason", reason) + "}");
  }
  // Not a loss: the later revision that replaced them carries the window's full values.
  Metric(out, "tidegate_window_results_superseded_total", "counter",
         "Buffered window results deleted unsent because a later revision of their window "
         "replaced them",
         Counter(stats, "window_results_superseded"));
}

void RenderBufferState(std::string* out, const buffer::StoreStats& stats) {
  Metric(out, "tidegate_buffer_events", "gauge", "Raw events buffered",
         static_cast<double>(stats.events));
  Metric(out, "tidegate_buffer_wal_bytes", "gauge", "WAL size on disk",
         static_cast<double>(stats.wal_bytes));
  Metric(out, "tidegate_buffer_used_bytes", "gauge", "Database pages in use, times the page size",
         static_cast<double>(stats.used_bytes));
  Metric(out, "tidegate_buffer_max_bytes", "gauge", "buffer.max_bytes",
         static_cast<double>(stats.max_bytes));
  Metric(out, "tidegate_buffer_quarantined_total", "counter",
         "Corrupt or unreadable buffer databases moved aside (buffer.db.corrupt-*)",
         Counter(stats, "buffer.quarantined"));
  Metric(out, "tidegate_dedup_keys_trimmed_total", "counter",
         "Persisted dedup keys forgotten early to stay within the buffer's bounds",
         Counter(stats, "dedup_keys_trimmed"));
  Metric(out, "tidegate_checkpoints_total", "counter", "WAL checkpoints run by the writer",
         static_cast<double>(stats.checkpoints));
  Metric(out, "tidegate_buffer_max_transaction_wal_bytes", "gauge",
         "The most WAL one buffer write transaction added since start",
         static_cast<double>(stats.max_transaction_wal_bytes));
  Metric(out, "tidegate_checkpoint_failures_total", "counter",
         "WAL checkpoints that could not complete (a reader held the WAL, or the disk was full)",
         static_cast<double>(stats.checkpoint_failures));
}

double Load(const std::atomic<uint64_t>& v) {
  return static_cast<double>(v.load(std::memory_order_relaxed));
}

void RenderIngest(std::string* out, const IngestMetrics& ingest) {
  Metric(out, "tidegate_received_total", "counter", "MQTT messages received",
         Load(ingest.received));
  Metric(out, "tidegate_ingested_total", "counter", "Events accepted into the buffer",
         Load(ingest.ingested));
  FamilyHeader(out, "tidegate_dropped_total", "counter",
               "Events not delivered, by reason: refused at ingest (parse, validation, size, "
               "privacy) or dropped by the buffer (buffer_full, max_events, max_age)");
  for (size_t i = 1; i < ingest.dead_letters_by_reason.size(); ++i) {
    Sample(
        out, "tidegate_dropped_total", Load(ingest.dead_letters_by_reason[i]),
        "{" + Label("reason", filters::DropReasonName(static_cast<filters::DropReason>(i))) + "}");
  }
}

void RenderPrivacy(std::string* out, const filters::PrivacyFilter& privacy) {
  const filters::PrivacyCounters& p = privacy.counters();
  FamilyHeader(out, "tidegate_privacy_values_total", "counter",
               "Values handled by the privacy stage, by action");
  for (const auto& [action, counter] :
       {std::pair<const char*, const std::atomic<uint64_t>*>{"tokenize", &p.tokenized},
        {"encrypt", &p.encrypted},
        {"mask", &p.masked},
        {"mask_unfit", &p.mask_unfit},
        {"drop", &p.dropped},
        {"scrub", &p.scrubbed}}) {
    Sample(out, "tidegate_privacy_values_total", Load(*counter),
           "{" + Label("action", action) + "}");
  }
}

void RenderCommits(std::string* out, const IngestMetrics& ingest,
                   const buffer::GroupCommitter& committer, const buffer::CommitterStats& commits) {
  Metric(out, "tidegate_duplicates_total", "counter",
         "Messages dropped as repeats within dedup.window", Load(ingest.duplicates));
  Metric(out, "tidegate_ingest_blocked_seconds_total", "counter",
         "Time ingest waited for buffer space (backpressure)", Load(ingest.blocked_ns) / 1e9);
  Metric(out, "tidegate_commits_total", "counter", "Buffer transactions committed",
         static_cast<double>(commits.commits));
  Metric(out, "tidegate_commit_failures_total", "counter", "Buffer commits that failed",
         static_cast<double>(commits.failed_commits));
  // Histograms, not a gauge of the last duration: a commit runs every commit_interval (50 ms)
  // and a scrape every 15 s or so, so a gauge shows one commit in hundreds and misses the
  // slow ones an SD card produces; buckets count every one, and rate(_sum)/rate(_count)
  // still gives the mean.
  Histogram(out, "tidegate_commit_duration_seconds", "Duration of successful buffer commits",
            committer.commit_durations().Read());
}

void RenderBufferContents(std::string* out, const buffer::StoreStats& stats,
                          buffer::SqliteStore& store) {
  Metric(out, "tidegate_buffer_records", "gauge", "Records buffered",
         static_cast<double>(stats.records));
  Metric(out, "tidegate_buffer_bytes", "gauge", "Buffer database and WAL size on disk",
         static_cast<double>(stats.db_bytes + stats.wal_bytes));
  // On the age line, as max_age judges it: a wall-clock step does not change it.
  double age = stats.events > 0
                   ? static_cast<double>(store.age_clock().Now().age_ms - stats.oldest_age_ms) / 1e3
                   : 0;
  Metric(out, "tidegate_buffer_oldest_age_seconds", "gauge", "Age of the oldest buffered event",
         age);
  Metric(out, "tidegate_dead_letters", "gauge", "Rows in the dead-letter table",
         static_cast<double>(stats.dead_letters));
  RenderBufferState(out, stats);
  Histogram(out, "tidegate_checkpoint_duration_seconds", "Duration of the writer's WAL checkpoints",
            store.checkpoint_durations().Read());
}

void RenderHealth(std::string* out, const IngestMetrics& ingest,
                  const buffer::CommitterStats& commits, buffer::SqliteStore& store) {
  Metric(out, "tidegate_clock_steps_total", "counter",
         "Wall-clock steps detected (wall minus monotonic moved by more than 2 s)",
         static_cast<double>(store.age_clock().steps()));
  Metric(out, "tidegate_buffer_healthy", "gauge",
         "1 while buffer commits succeed; 0 while they fail (disk full, I/O error): ingest paused",
         commits.healthy ? 1 : 0);
  Metric(out, "tidegate_buffer_full", "gauge",
         "1 while when_full: block pauses ingest at the buffer's high mark", commits.store_full);
  Metric(out, "tidegate_dedup_evicted_total", "counter",
         "Dedup keys forgotten before dedup.window by the index's size cap",
         Load(ingest.dedup_evicted));
}

void RenderUplinkTraffic(std::string* out, const uplink::UplinkStats& uplink) {
  Metric(out, "tidegate_batches_sent_total", "counter", "Batch send attempts",
         Load(uplink.batches_sent));
  Metric(out, "tidegate_batches_acked_total", "counter", "Batches acknowledged",
         Load(uplink.batches_acked));
  Metric(out, "tidegate_batches_retried_total", "counter", "Batch sends to retry",
         Load(uplink.batches_retried));
  Metric(out, "tidegate_batches_rejected_total", "counter", "Batches rejected and dead-lettered",
         Load(uplink.batches_rejected));
  Metric(out, "tidegate_events_acked_total", "counter", "Events acknowledged by the receiver",
         Load(uplink.events_acked));
  Metric(out, "tidegate_uplink_bytes_total", "counter", "Compressed bytes sent",
         Load(uplink.bytes_sent));
}

// Uplink health under a hostile network (issue "Loses nothing, duplicates nothing").
void RenderUplinkHealth(std::string* out, const uplink::UplinkStats& uplink) {
  Metric(out, "tidegate_uplink_untrusted_peer_total", "counter",
         "Sends refused because the receiver's certificate did not verify",
         Load(uplink.untrusted_peer_failures));
  Metric(out, "tidegate_uplink_peer_untrusted", "gauge",
         "1 while the receiver's certificate fails verification (alarm)",
         uplink.peer_untrusted.load() ? 1 : 0);
  Metric(out, "tidegate_uplink_client_cert_refused_total", "counter",
         "Sends where the receiver refused our client certificate (uplink.tls.cert_file)",
         Load(uplink.client_cert_refused_failures));
  Metric(out, "tidegate_uplink_client_cert_refused", "gauge",
         "1 while the receiver refuses our client certificate (alarm)",
         uplink.client_cert_refused.load() ? 1 : 0);
  Metric(out, "tidegate_uplink_last_http_status", "gauge",
         "HTTP status of the last send attempt (0: no answer)",
         static_cast<double>(uplink.last_http_status.load()));
  Metric(out, "tidegate_uplink_throttled_seconds_total", "counter",
         "Time sends waited for uplink.max_bytes_per_second", Load(uplink.throttled_ms) / 1e3);
  if (uplink.connected.load() == uplink::UplinkStats::kNoConnection) return;
  // uplink.transport mqtt only.
  Metric(out, "tidegate_uplink_mqtt_connected", "gauge",
         "1 while connected to the cloud MQTT broker (uplink.transport mqtt)",
         uplink.connected.load() == 1 ? 1 : 0);
  Metric(out, "tidegate_uplink_inflight_batches", "gauge",
         "Batches published and awaiting a collector's ack (at most uplink.mqtt.max_inflight)",
         Load(uplink.inflight));
  Metric(out, "tidegate_uplink_ack_timeouts_total", "counter",
         "Batches published again after uplink.mqtt.ack_timeout without an ack",
         Load(uplink.ack_timeouts));
  Metric(out, "tidegate_uplink_late_acks_total", "counter",
         "Acks for batches not in flight (duplicates after a republish), ignored",
         Load(uplink.late_acks));
}

}  // namespace

// Families appear in a fixed order; each group of them is rendered by one helper above.
std::string RenderMetrics(const Config& config, const IngestMetrics& ingest,
                          const filters::PrivacyFilter* privacy,
                          const buffer::GroupCommitter& committer,
                          const uplink::UplinkStats& uplink, buffer::SqliteStore& store) {
  std::string out;
  Result<buffer::StoreStats> stats = store.Stats();
  RenderIngest(&out, ingest);
  if (stats.ok()) RenderBufferDrops(&out, *stats);
  if (privacy) RenderPrivacy(&out, *privacy);
  buffer::CommitterStats commits = committer.stats();
  RenderCommits(&out, ingest, committer, commits);
  if (stats.ok()) RenderBufferContents(&out, *stats, store);
  RenderHealth(&out, ingest, commits, store);
  RenderUplinkTraffic(&out, uplink);
  RenderUplinkHealth(&out, uplink);
  FamilyHeader(&out, "tidegate_info", "gauge", "Always 1; labels name the agent and its version");
  Sample(&out, "tidegate_info", 1,
         "{" + Label("agent_id", config.agent.id) + "," + Label("version", TIDEGATE_VERSION) + "}");
  return out;
}

void AppendUplinkFailingMetrics(const UplinkHealth& health, std::string* out) {
  Metric(out, "tidegate_uplink_failing_seconds", "gauge",
         "How long sends have failed without a success in between (0 while delivering)",
         health.failing_for_ms < 0 ? 0 : static_cast<double>(health.failing_for_ms) / 1e3);
  Metric(out, "tidegate_uplink_consecutive_failures", "gauge",
         "Failed sends since the last success", static_cast<double>(health.failures));
}

}  // namespace tidegate::agent
