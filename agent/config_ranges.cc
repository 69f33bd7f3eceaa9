// SPDX-License-Identifier: Apache-2.0
#include "agent/config_ranges.h"

#include <chrono>

#include "common/units.h"

namespace tidegate::agent {
namespace {

constexpr int64_t kMs = 1;
constexpr int64_t kSecond = 1'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr int64_t kGiB = 1024 * kMiB;
constexpr int64_t kTiB = 1024 * kGiB;

using enum ValueKind;

// Why each bound: every duration here is added to a time somewhere, so none may be absurd;
// each ceiling is the longest an operator could mean, each floor the shortest that does not
// turn the feature into a busy loop. configs/tidegate.yaml repeats the reasons for users.
constexpr KeyRange kRanges[] = {
    {"source.mqtt.port", kInteger, 1, 65535},
    {"source.mqtt.topics[].qos", kInteger, 0, 2},
    {"source.mqtt.topics[].priority", kInteger, 0, 9},
    // AWS IoT Core caps a payload at 128 KiB and Azure IoT Hub at 256 KiB; the smallest
    // buffer (1 MiB, ~768 KiB of data) still holds a few of the largest.
    {"source.mqtt.max_payload_bytes", kSize, 256, 256 * kKiB},
    // MQTT's keepalive is 16-bit seconds; libmosquitto refuses less than 5 s.
    {"source.mqtt.keepalive", kDuration, 5 * kSecond, 65535 * kSecond},
    {"events.device_id.from_topic", kInteger, 0, 64},
    // 0: any event time ahead of the clock is not aggregated. A week covers a clock that
    // lags badly; further ahead is a broken device.
    {"events.max_future_skew", kDuration, 0, 7 * kDay},
    // A data key opens at most this much data; past ~106 days the steady clock's
    // nanoseconds would overflow.
    {"privacy.key_epoch", kDuration, kSecond, 30 * kDay},
    {"privacy.key_epoch_max_values", kInteger, 1, int64_t{1} << 40},
    // 0 turns ingest dedup off. QoS 1 redelivery comes within minutes; a week covers a
    // device resending after a long outage (the index is capped at 1M keys anyway).
    {"dedup.window", kDuration, 0, 7 * kDay},
    // Sub-second windows would emit a result for nearly every event; a week is the longest
    // window whose state fits within state_ttl (at most 30 d).
    {"aggregate[].window.tumbling", kDuration, kSecond, 7 * kDay},
    {"aggregate[].window.hopping.size", kDuration, kSecond, 7 * kDay},
    {"aggregate[].window.hopping.slide", kDuration, kSecond, 7 * kDay},
    {"aggregate[].watermark.max_out_of_order", kDuration, 0, kDay},
    {"aggregate[].watermark.idle_timeout", kDuration, kSecond, 7 * kDay},
    {"aggregate[].allowed_lateness", kDuration, 0, 7 * kDay},
    // Below 1 MiB the WAL and commit reserve leave almost nothing for data (store_limits.h).
    {"buffer.max_bytes", kSize, kMiB, kTiB},
    {"buffer.max_events", kInteger, 0, int64_t{1} << 40},
    // 0 keeps events until sent; a year is the longest retention one would configure.
    {"buffer.max_age", kDuration, 0, 365 * kDay},
    // A kill -9 loses up to this much; 0 commits before the broker's ack returns.
    {"buffer.commit_interval", kDuration, 0, 10 * kSecond},
    {"buffer.state_ttl", kDuration, kMinute, 30 * kDay},
    // The memory budget of all aggregations' state: below 64 KiB hardly a window fits.
    {"buffer.state_max_bytes", kSize, 64 * kKiB, 64 * kGiB},
    {"uplink.batch.max_events", kInteger, 1, 100'000},
    // The reference collector refuses bodies over 16 MiB; 8 MiB leaves room for a record
    // past the cap and for incompressible (encrypted) payloads.
    {"uplink.batch.max_bytes", kSize, kKiB, 8 * kMiB},
    // A batch that is not full waits at most this long; a full one goes at once.
    {"uplink.batch.linger", kDuration, 0, kMinute},
    {"uplink.compression.level", kInteger, 1, 19},
    // A floor keeps a failing receiver from being hammered; an hour is the longest pause
    // worth waiting through (Retry-After is capped at the same hour).
    {"uplink.retry.initial", kDuration, 100 * kMs, kHour},
    {"uplink.retry.max", kDuration, 100 * kMs, kHour},
    {"uplink.connect_timeout", kDuration, 100 * kMs, 5 * kMinute},
    {"uplink.request_timeout", kDuration, kSecond, kHour},
    // 0 is unlimited; below 1 KiB/s a batch takes longer than any request timeout.
    {"uplink.max_bytes_per_second", kSize, kKiB, kGiB, true},
    {"remote_config.poll_interval", kDuration, kSecond, kDay},
};

std::string ValueText(ValueKind kind, int64_t value) {
  switch (kind) {
    case kDuration:
      return FormatDuration(std::chrono::milliseconds(value));
    case kSize:
      return FormatSize(static_cast<uint64_t>(value));
    case kInteger:
      break;
  }
  return std::to_string(value);
}

}  // namespace

std::span<const KeyRange> AllKeyRanges() { return kRanges; }

const KeyRange* FindKeyRange(std::string_view path) {
  for (const KeyRange& range : kRanges) {
    if (range.path == path) return &range;
  }
  return nullptr;
}

bool InRange(const KeyRange& range, int64_t value) {
  return (range.zero_is_off && value == 0) || (value >= range.min && value <= range.max);
}

std::string RangeText(const KeyRange& range) {
  std::string text = range.zero_is_off ? "0 or " : "";
  return text + ValueText(range.kind, range.min) + ".." + ValueText(range.kind, range.max);
}

}  // namespace tidegate::agent
