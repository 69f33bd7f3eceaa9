// SPDX-License-Identifier: Apache-2.0
// Bytes per event on the wire for the simulator's default events, in the plain layout
// (schema_version 1) and in the columnar one (schema_version 2, every field declared as the
// e2e schema test declares them), through the real BatchEncoder at the default zstd level.
// Deterministic (fixed seed and clock): `build/bin/wire_bytes [--no-pii]`. Also prints the
// encode time per event: thread CPU time, median of 5 runs (a reading, not an assertion; CPU
// time rather than wall time so that other load on the machine matters less).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <vector>

#include "tests/support/fake_clock.h"
#include "tools/sim/event_generator.h"
#include "uplink/batch_encoder.h"

namespace {

using tidegate::FieldType;

constexpr size_t kBatchEvents = 1000;  // uplink.batch.max_events default
constexpr int kBatches = 10;
constexpr int kZstdLevel = 1;  // uplink.compression.level default

tidegate::SchemaSpec Thermo() {
  tidegate::SchemaSpec spec;
  spec.name = "thermo";
  spec.match = "devices/+/telemetry";
  const std::pair<const char*, FieldType> fields[] = {
      {"/device_id", FieldType::kString}, {"/msg_id", FieldType::kString},
      {"/ts", FieldType::kTimestamp},     {"/seq", FieldType::kInteger},
      {"/temp", FieldType::kNumber},      {"/humidity", FieldType::kNumber},
      {"/battery", FieldType::kInteger}};
  for (const auto& [path, type] : fields) {
    tidegate::SchemaFieldSpec& f = spec.fields.emplace_back();
    f.path = path;
    f.type = type;
  }
  return spec;
}

std::vector<std::vector<tidegate::buffer::BufferedRecord>> Batches(bool pii) {
  tidegate::testing::FakeClock clock(1'764'000'000'000);
  tidegate::sim::GeneratorOptions options;
  options.pii = pii;
  tidegate::sim::EventGenerator generator(options, 20261206, clock);
  std::vector<std::vector<tidegate::buffer::BufferedRecord>> batches(kBatches);
  uint64_t seq = 1;
  for (auto& batch : batches) {
    for (size_t i = 0; i < kBatchEvents; ++i) {
      tidegate::sim::SimEvent e = generator.Next();
      tidegate::buffer::BufferedRecord& r = batch.emplace_back();
      r.seq = seq++;
      r.event.topic = e.topic;
      r.event.device_id = tidegate::sim::DeviceId(e.device);
      r.event.event_time_ms = e.event_time_ms;
      r.event.ingest_time_ms = e.event_time_ms + 3;
      r.event.payload = std::move(e.payload);
      r.event.schema_name = "thermo";
      r.event.schema_version = 1;
      clock.Advance(100);
    }
  }
  return batches;
}

double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Reading {
  double flatbuffer_bytes = 0;  // per event
  double wire_bytes = 0;        // per event, zstd
  double encode_ns = 0;         // per event, median of 5 runs
  uint32_t schema_version = 0;
};

Reading Measure(const std::vector<std::vector<tidegate::buffer::BufferedRecord>>& batches,
                bool columns) {
  tidegate::uplink::BatchEncoder encoder("gw-bench", kZstdLevel);
  if (columns) encoder.SetSchemas({Thermo()});
  Reading out;
  std::vector<double> runs;
  for (int run = 0; run < 5; ++run) {
    size_t flat = 0, wire = 0, events = 0;
    const double start = ThreadCpuNs();
    for (const auto& records : batches) {
      const tidegate::buffer::BatchRange range{.batch_id = "bench",
                                               .priority = 5,
                                               .first_seq = records.front().seq,
                                               .last_seq = records.back().seq,
                                               .count = static_cast<uint32_t>(records.size()),
                                               .created_at_ms = 1'764'000'000'000};
      auto encoded = encoder.Encode(range, records);
      if (!encoded.ok()) return out;
      flat += encoded->uncompressed_bytes;
      wire += encoded->body.size();
      events += records.size();
      out.schema_version = encoded->schema_version;
    }
    runs.push_back((ThreadCpuNs() - start) / static_cast<double>(events));
    out.flatbuffer_bytes = static_cast<double>(flat) / static_cast<double>(events);
    out.wire_bytes = static_cast<double>(wire) / static_cast<double>(events);
  }
  std::sort(runs.begin(), runs.end());
  out.encode_ns = runs[runs.size() / 2];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bool pii = !(argc > 1 && std::strcmp(argv[1], "--no-pii") == 0);
  const auto batches = Batches(pii);
  size_t payload = 0;
  for (const auto& b : batches) {
    for (const auto& r : b) payload += r.event.payload.size();
  }
  fmt::print("simulator default events{}, {} batches of {} events, zstd level {}\n",
             pii ? "" : " (--no-pii)", kBatches, kBatchEvents, kZstdLevel);
  fmt::print("payload JSON: {:.1f} bytes/event\n",
             static_cast<double>(payload) / static_cast<double>(kBatches * kBatchEvents));
  fmt::print("{:<34} {:>14} {:>14} {:>16}\n", "layout", "FlatBuffer B/ev", "on wire B/ev",
             "encode ns/ev");
  for (bool columns : {false, true}) {
    const Reading r = Measure(batches, columns);
    fmt::print("{:<34} {:>14.1f} {:>14.1f} {:>16.0f}\n",
               columns ? "schema thermo (schema_version 2)" : "no schema (schema_version 1)",
               r.flatbuffer_bytes, r.wire_bytes, r.encode_ns);
  }
  return 0;
}
