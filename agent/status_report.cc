// SPDX-License-Identifier: Apache-2.0
#include "agent/status_report.h"

#include <fmt/format.h>

#include <iterator>

namespace tidegate::agent {
namespace {

using Samples = std::vector<MetricSample>;

double Get(const Samples& s, std::string_view name) { return FindSample(s, name).value_or(0); }

uint64_t Count(const Samples& s, std::string_view name) {
  return static_cast<uint64_t>(Get(s, name));
}

std::string Bytes(double bytes) {
  if (bytes >= 1 << 30) return fmt::format("{:.1f} GiB", bytes / (1 << 30));
  if (bytes >= 1 << 20) return fmt::format("{:.1f} MiB", bytes / (1 << 20));
  if (bytes >= 1 << 10) return fmt::format("{:.1f} KiB", bytes / (1 << 10));
  return fmt::format("{:.0f} B", bytes);
}

std::string Seconds(double seconds) {
  if (seconds >= 3600) return fmt::format("{:.1f} h", seconds / 3600);
  if (seconds >= 60) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.1f} s", seconds);
}

void Line(std::string* out, std::string_view label, std::string_view value) {
  fmt::format_to(std::back_inserter(*out), "{:<15}{}\n", std::string(label) + ":", value);
}

// "malformed_json 2, buffer_full 1" for the non-zero samples of a family labelled by `key`.
std::string NonZeroByLabel(const Samples& s, std::string_view family, const std::string& key) {
  std::string out;
  for (const MetricSample* sample : FamilySamples(s, family)) {
    if (sample->value == 0) continue;
    auto it = sample->labels.find(key);
    if (!out.empty()) out += ", ";
    fmt::format_to(std::back_inserter(out), "{} {:.0f}",
                   it == sample->labels.end() ? "?" : it->second, sample->value);
  }
  return out;
}

void Buffer(std::string* out, const Samples& s) {
  const bool open = FindSample(s, "tidegate_buffer_records").has_value();
  Line(out, "buffer",
       !open                                    ? "not readable (see the agent's log)"
       : Get(s, "tidegate_buffer_healthy") == 0 ? "open, commits failing"
       : Get(s, "tidegate_buffer_full") == 1    ? "open, full (ingest paused)"
                                                : "open, committing");
  if (!open) return;
  Line(out, "backlog",
       fmt::format("{} records ({} raw events), {} on disk of max {}",
                   Count(s, "tidegate_buffer_records"), Count(s, "tidegate_buffer_events"),
                   Bytes(Get(s, "tidegate_buffer_bytes")),
                   Bytes(Get(s, "tidegate_buffer_max_bytes"))));
  Line(out, "oldest event",
       Count(s, "tidegate_buffer_events") == 0
           ? "-"
           : Seconds(Get(s, "tidegate_buffer_oldest_age_seconds")) + " old");
}

void Ingest(std::string* out, const Samples& s) {
  Line(out, "broker",
       fmt::format("{} ({} connects, {} failed attempts)",
                   Get(s, "tidegate_mqtt_connected") == 1 ? "connected" : "NOT connected",
                   Count(s, "tidegate_mqtt_connects_total"),
                   Count(s, "tidegate_mqtt_connect_failures_total")));
  const std::string drops = NonZeroByLabel(s, "tidegate_dropped_total", "reason");
  Line(out, "ingest",
       fmt::format("{} received, {} ingested, {} duplicates, dropped: {}",
                   Count(s, "tidegate_received_total"), Count(s, "tidegate_ingested_total"),
                   Count(s, "tidegate_duplicates_total"), drops.empty() ? "none" : drops));
}

void Uplink(std::string* out, const Samples& s) {
  const double failing = Get(s, "tidegate_uplink_failing_seconds");
  const auto http = static_cast<int>(Get(s, "tidegate_uplink_last_http_status"));
  std::string state = failing > 0
                          ? fmt::format("failing for {} ({} failed sends{})", Seconds(failing),
                                        Count(s, "tidegate_uplink_consecutive_failures"),
                                        http ? fmt::format(", last HTTP {}", http) : "")
                          : "delivering";
  if (FindSample(s, "tidegate_uplink_mqtt_connected").has_value()) {
    state +=
        fmt::format("; mqtt {}, {} batches awaiting acks",
                    Get(s, "tidegate_uplink_mqtt_connected") > 0 ? "connected" : "NOT connected",
                    Count(s, "tidegate_uplink_inflight_batches"));
  }
  Line(out, "uplink", state);
  Line(out, "batches",
       fmt::format(
           "{} sent, {} acked, {} retried, {} rejected; {} on the wire",
           Count(s, "tidegate_batches_sent_total"), Count(s, "tidegate_batches_acked_total"),
           Count(s, "tidegate_batches_retried_total"), Count(s, "tidegate_batches_rejected_total"),
           Bytes(Get(s, "tidegate_uplink_bytes_total"))));
}

void Watermarks(std::string* out, const Samples& s) {
  std::string lags;
  for (const MetricSample* sample : FamilySamples(s, "tidegate_watermark_lag_seconds")) {
    auto it = sample->labels.find("aggregation");
    if (!lags.empty()) lags += ", ";
    lags += (it == sample->labels.end() ? "?" : it->second) + " " + Seconds(sample->value);
  }
  Line(out, "watermark lag", lags.empty() ? "- (no aggregation)" : lags);
}

}  // namespace

std::string FormatStatus(const StatusInputs& in) {
  std::string out;
  const MetricSample* info = nullptr;
  for (const MetricSample* s : FamilySamples(in.samples, "tidegate_info")) info = s;
  auto label = [&](const char* key) -> std::string {
    if (!info) return "?";
    auto it = info->labels.find(key);
    return it == info->labels.end() ? "?" : it->second;
  };
  Line(&out, "agent",
       fmt::format("{} (tidegate {}) on {}", label("agent_id"), label("version"), in.listen));
  Line(&out, "ready", in.ready ? "yes" : "NO");
  Buffer(&out, in.samples);
  Ingest(&out, in.samples);
  Uplink(&out, in.samples);
  Watermarks(&out, in.samples);
  if (!in.ready) {
    out += "last errors:\n";
    std::string_view reasons = in.not_ready_reasons;
    while (!reasons.empty()) {
      const size_t newline = reasons.find('\n');
      if (newline != 0)
        fmt::format_to(std::back_inserter(out), "  - {}\n", reasons.substr(0, newline));
      reasons.remove_prefix(newline == std::string_view::npos ? reasons.size() : newline + 1);
    }
  }
  return out;
}

}  // namespace tidegate::agent
