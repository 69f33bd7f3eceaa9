// SPDX-License-Identifier: Apache-2.0
#include "agent/status_report.h"

#include <catch2/catch.hpp>

#include "agent/metrics_text.h"
#include "agent/prometheus_text.h"

namespace tidegate::agent {
namespace {

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST_CASE("label values are escaped on the page and read back unchanged", "[agent]") {
  std::string page;
  FamilyHeader(&page, "tidegate_info", "gauge", "Always 1");
  Sample(&page, "tidegate_info", 1, "{" + Label("agent_id", "gw \"7\"\\\nx") + "}");
  CHECK(Contains(page, R"(tidegate_info{agent_id="gw \"7\"\\\nx"} 1)"));
  Result<std::vector<MetricSample>> samples = ParseMetricsText(page);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 1);
  CHECK(samples->front().labels.at("agent_id") == "gw \"7\"\\\nx");
}

TEST_CASE("a duration histogram is written with cumulative buckets, +Inf, sum and count",
          "[agent]") {
  DurationHistogram h;
  h.Observe(std::chrono::milliseconds(2));
  h.Observe(std::chrono::seconds(20));
  std::string page;
  Histogram(&page, "tidegate_commit_duration_seconds", "Commits", h.Read());
  CHECK(Contains(page, "# TYPE tidegate_commit_duration_seconds histogram\n"));
  CHECK(Contains(page, "tidegate_commit_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
  CHECK(Contains(page, "tidegate_commit_duration_seconds_bucket{le=\"10\"} 1\n"));
  CHECK(Contains(page, "tidegate_commit_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
  CHECK(Contains(page, "tidegate_commit_duration_seconds_count 2\n"));
  CHECK(Contains(page, "tidegate_commit_duration_seconds_sum 20.002\n"));
  CHECK(ParseMetricsText(page).ok());
}

TEST_CASE("a line that is not a sample is refused with its number", "[agent]") {
  Result<std::vector<MetricSample>> samples = ParseMetricsText("# HELP a b\na 1\nb{x=\"1} 2\n");
  REQUIRE_FALSE(samples.ok());
  CHECK(Contains(samples.status().message(), "line 3"));
}

TEST_CASE("status names a failing uplink, the drops by reason and the readiness reasons",
          "[agent]") {
  const char* page =
      "tidegate_info{agent_id=\"gw-1\",version=\"1.2.3\"} 1\n"
      "tidegate_received_total 12\ntidegate_ingested_total 10\ntidegate_duplicates_total 1\n"
      "tidegate_dropped_total{reason=\"malformed_json\"} 1\n"
      "tidegate_dropped_total{reason=\"buffer_full\"} 0\n"
      "tidegate_buffer_records 10\ntidegate_buffer_events 10\ntidegate_buffer_bytes 2097152\n"
      "tidegate_buffer_max_bytes 268435456\ntidegate_buffer_oldest_age_seconds 90\n"
      "tidegate_buffer_healthy 1\ntidegate_buffer_full 0\ntidegate_mqtt_connected 1\n"
      "tidegate_uplink_failing_seconds 42.5\ntidegate_uplink_consecutive_failures 6\n"
      "tidegate_uplink_last_http_status 503\n"
      "tidegate_watermark_lag_seconds{aggregation=\"temp\"} 7\n";
  Result<std::vector<MetricSample>> samples = ParseMetricsText(page);
  REQUIRE(samples.ok());
  const std::string out = FormatStatus({.listen = "127.0.0.1:9464",
                                        .samples = *samples,
                                        .ready = false,
                                        .not_ready_reasons = "uplink not delivering for 42 s\n"});
  INFO(out);
  CHECK(Contains(out, "agent:         gw-1 (tidegate 1.2.3) on 127.0.0.1:9464\n"));
  CHECK(Contains(out, "ready:         NO\n"));
  CHECK(
      Contains(out, "backlog:       10 records (10 raw events), 2.0 MiB on disk of max 256.0 MiB"));
  CHECK(Contains(out, "oldest event:  1.5 min old\n"));
  CHECK(Contains(out, "dropped: malformed_json 1\n"));
  CHECK(Contains(out, "uplink:        failing for 42.5 s (6 failed sends, last HTTP 503)\n"));
  CHECK(Contains(out, "watermark lag: temp 7.0 s\n"));
  CHECK(Contains(out, "  - uplink not delivering for 42 s\n"));
}

TEST_CASE("tidegate status shows an MQTT uplink's connection and batches awaiting acks",
          "[agent][mqtt]") {
  const char* page =
      "tidegate_uplink_failing_seconds 0\ntidegate_uplink_mqtt_connected 0\n"
      "tidegate_uplink_inflight_batches 4\n";
  Result<std::vector<MetricSample>> samples = ParseMetricsText(page);
  REQUIRE(samples.ok());
  const std::string out = FormatStatus(
      {.listen = "127.0.0.1:9464", .samples = *samples, .ready = true, .not_ready_reasons = ""});
  INFO(out);
  CHECK(Contains(out, "uplink:        delivering; mqtt NOT connected, 4 batches awaiting acks\n"));
}

}  // namespace
}  // namespace tidegate::agent
