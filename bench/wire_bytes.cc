// SPDX-License-Identifier: Apache-2.0
// Bytes per event on the wire for the simulator's default events, in the plain layout
// (schema_version 1) and in the columnar one (schema_version 2, every field declared as the
// e2e schema test declares them), through the real BatchEncoder at the default zstd level.
// Deterministic (fixed seed and clock): `build/bin/wire_bytes [--no-pii] [--privacy] [--fields]
// [--devices N] [--batch-events N] [--dictionary FILE] [--write-batches DIR]`. Also prints the
// encode time per event: thread CPU time, median of 5 runs (a reading, not an assertion; CPU time
// rather than wall time so that other load on the machine matters less). --dictionary adds rows
// compressed with that zstd dictionary (uplink.compression.dictionary); --write-batches writes 50
// uncompressed batches of events from another seed to DIR, to train one on (`tidegate-collector
// dict train`) without training on the events it is then measured on. --privacy runs the events
// through bench/run.sh's privacy rules first (tokenize /user/email, encrypt /user/phone, mask /ip),
// with libsodium's randomness replaced by a seeded stream so that keys and ciphertexts repeat from
// run to run; --fields adds what each field costs as a column of its own (bench/wire_fields.h);
// --devices draws the events from that many devices instead of the simulator's 10 (the
// end-to-end bench publishes from 1,000).
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/wire_fields.h"
#include "filters/privacy_filter.h"
#include "filters/token_keys.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_randombytes.h"
#include "tools/sim/event_generator.h"
#include "uplink/batch_encoder.h"
#include "uplink/compression_dictionary.h"

namespace {

using tidegate::FieldType;

constexpr size_t kEvents = 10000;  // measured, in batches of --batch-events
constexpr int kZstdLevel = 1;      // uplink.compression.level default
constexpr uint64_t kSeed = 20261206;
constexpr uint64_t kTrainingSeed = 7;  // --write-batches: other events than those measured
constexpr int kTrainingBatches = 50;

using Dictionary = std::shared_ptr<const tidegate::uplink::CompressionDictionary>;

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

// bench/run.sh's privacy rules, over keys drawn from the seeded stream.
struct BenchPrivacy {
  static std::unique_ptr<BenchPrivacy> Create(tidegate::Clock& clock) {
    auto p = std::make_unique<BenchPrivacy>();
    tidegate::PrivacyRule rule;
    rule.match = "devices/+/telemetry";
    rule.tokenize = {"/user/email"};
    rule.encrypt = {"/user/phone"};
    rule.mask = {{"/ip", tidegate::MaskKind::kIpv4Prefix24}};
    p->config.rules = {rule};
    tidegate::schema::SecretKey secret{};
    crypto_box_keypair(p->recipient.data(), secret.data());
    auto filter =
        tidegate::filters::PrivacyFilter::Create(p->config, &p->keys, p->recipient, clock);
    if (!filter.ok()) return nullptr;
    p->filter = std::move(*filter);
    return p;
  }
  tidegate::PrivacySection config;
  tidegate::filters::TokenKeySet keys = tidegate::filters::TokenKeySet::Generate("k1");
  tidegate::schema::PublicKey recipient{};
  std::unique_ptr<tidegate::filters::PrivacyFilter> filter;
};

std::vector<std::vector<tidegate::buffer::BufferedRecord>> Batches(bool pii, uint64_t seed,
                                                                   size_t batches_wanted,
                                                                   size_t batch_events,
                                                                   bool privacy = false,
                                                                   uint32_t devices = 0) {
  tidegate::testing::FakeClock clock(1'764'000'000'000);
  tidegate::sim::GeneratorOptions options;
  options.pii = pii;
  if (devices > 0) options.devices = devices;
  tidegate::sim::EventGenerator generator(options, seed, clock);
  std::unique_ptr<BenchPrivacy> filter = privacy ? BenchPrivacy::Create(clock) : nullptr;
  if (privacy && filter == nullptr) return {};
  std::vector<std::vector<tidegate::buffer::BufferedRecord>> batches(batches_wanted);
  uint64_t seq = 1;
  for (auto& batch : batches) {
    for (size_t i = 0; i < batch_events; ++i) {
      tidegate::sim::SimEvent e = generator.Next();
      tidegate::buffer::BufferedRecord& r = batch.emplace_back();
      r.seq = seq++;
      r.event.topic = e.topic;
      r.event.device_id = tidegate::sim::DeviceId(e.device);
      r.event.event_time_ms = e.event_time_ms;
      r.event.ingest_time_ms = e.event_time_ms + 3;
      r.event.payload = std::move(e.payload);
      std::string filtered;
      if (filter != nullptr &&
          filter->filter->Apply(e.topic, r.event.payload, &filtered).rewritten) {
        r.event.payload.swap(filtered);
      }
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

tidegate::buffer::BatchRange RangeOf(const std::vector<tidegate::buffer::BufferedRecord>& records) {
  return {.batch_id = "bench",
          .priority = 5,
          .first_seq = records.front().seq,
          .last_seq = records.back().seq,
          .count = static_cast<uint32_t>(records.size()),
          .created_at_ms = 1'764'000'000'000};
}

Reading Measure(const std::vector<std::vector<tidegate::buffer::BufferedRecord>>& batches,
                bool columns, const Dictionary& dictionary) {
  tidegate::uplink::BatchEncoder encoder("gw-bench", kZstdLevel, dictionary);
  if (columns) encoder.SetSchemas({Thermo()});
  Reading out;
  std::vector<double> runs;
  for (int run = 0; run < 5; ++run) {
    size_t flat = 0, wire = 0, events = 0;
    const double start = ThreadCpuNs();
    for (const auto& records : batches) {
      auto encoded = encoder.Encode(RangeOf(records), records);
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

// Writes kTrainingBatches uncompressed batches (the plain layout) of kTrainingSeed's events.
bool WriteTrainingBatches(const std::string& dir, bool pii, size_t batch_events) {
  tidegate::uplink::BatchEncoder encoder("gw-bench", kZstdLevel);
  int n = 0;
  for (const auto& records : Batches(pii, kTrainingSeed, kTrainingBatches, batch_events)) {
    if (!encoder.Encode(RangeOf(records), records).ok()) return false;
    std::ofstream out(dir + "/train-" + std::to_string(n++) + ".tgb", std::ios::binary);
    const std::string_view flat = encoder.last_flatbuffer();
    out.write(flat.data(), static_cast<std::streamsize>(flat.size()));
    if (!out) return false;
  }
  return true;
}

struct Args {
  bool pii = true;
  bool privacy = false;
  bool fields = false;
  uint32_t devices = 0;        // 0: the simulator's default (10)
  size_t batch_events = 1000;  // uplink.batch.max_events default
  std::string dictionary;
  std::string write_batches;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--no-pii") {
      args->pii = false;
    } else if (arg == "--privacy") {
      args->privacy = true;
    } else if (arg == "--fields") {
      args->fields = true;
    } else if (arg == "--devices" && has_value) {
      const unsigned long devices = std::strtoul(argv[++i], nullptr, 10);
      if (devices == 0 || devices > 100'000) return false;
      args->devices = static_cast<uint32_t>(devices);
    } else if (arg == "--batch-events" && has_value) {
      args->batch_events = std::strtoul(argv[++i], nullptr, 10);
      if (args->batch_events == 0 || args->batch_events > kEvents) return false;
    } else if (arg == "--dictionary" && has_value) {
      args->dictionary = argv[++i];
    } else if (arg == "--write-batches" && has_value) {
      args->write_batches = argv[++i];
    } else {
      return false;
    }
  }
  return true;
}

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) {
    fmt::print(stderr,
               "usage: wire_bytes [--no-pii] [--privacy] [--fields] [--devices N (1..100000)] "
               "[--batch-events N (1..{})] [--dictionary FILE] [--write-batches DIR]\n",
               kEvents);
    return 2;
  }
  // Before anything calls sodium_init, which fixes the implementation.
  if (args.privacy && !tidegate::testing::SeededRandombytes::Install()) return 1;
  if (sodium_init() < 0) return 1;
  if (!args.write_batches.empty()) {
    if (!WriteTrainingBatches(args.write_batches, args.pii, args.batch_events)) {
      fmt::print(stderr, "wire_bytes: cannot write batches to {}\n", args.write_batches);
      return 1;
    }
    fmt::print("wrote {} batches of {} events (seed {}) to {}\n", kTrainingBatches,
               args.batch_events, kTrainingSeed, args.write_batches);
    return 0;
  }
  Dictionary dictionary;
  if (!args.dictionary.empty()) {
    auto loaded = tidegate::uplink::CompressionDictionary::Load(args.dictionary, kZstdLevel);
    if (!loaded.ok()) {
      fmt::print(stderr, "wire_bytes: {}\n", loaded.status().message());
      return 1;
    }
    dictionary = *loaded;
  }
  const size_t batch_count = kEvents / args.batch_events;
  const auto batches =
      Batches(args.pii, kSeed, batch_count, args.batch_events, args.privacy, args.devices);
  if (batches.empty()) {
    fmt::print(stderr, "wire_bytes: cannot set up the privacy rules\n");
    return 1;
  }
  size_t payload = 0;
  for (const auto& b : batches) {
    for (const auto& r : b) payload += r.event.payload.size();
  }
  fmt::print("simulator default events{}{}{}, {} batches of {} events, zstd level {}\n",
             args.pii ? "" : " (--no-pii)",
             args.devices > 0 ? fmt::format(" from {} devices", args.devices) : "",
             args.privacy ? " after bench/run.sh's privacy rules (--privacy)" : "", batch_count,
             args.batch_events, kZstdLevel);
  if (dictionary) {
    fmt::print("dictionary {}: ID {}, {} bytes\n", args.dictionary, dictionary->id(),
               dictionary->size());
  }
  fmt::print("payload JSON: {:.1f} bytes/event\n",
             static_cast<double>(payload) / static_cast<double>(batch_count * args.batch_events));
  fmt::print("{:<34} {:>14} {:>14} {:>16}\n", "layout", "FlatBuffer B/ev", "on wire B/ev",
             "encode ns/ev");
  // Without the dictionary first, as the reference.
  std::vector<Dictionary> variants = {nullptr};
  if (dictionary) variants.push_back(dictionary);
  for (const Dictionary& dict : variants) {
    for (bool columns : {false, true}) {
      const Reading r = Measure(batches, columns, dict);
      std::string layout = columns ? "schema thermo" : "no schema";
      layout += dict ? " + dictionary" : columns ? " (schema_version 2)" : " (schema_version 1)";
      fmt::print("{:<34} {:>14.1f} {:>14.1f} {:>16.0f}\n", layout, r.flatbuffer_bytes, r.wire_bytes,
                 r.encode_ns);
    }
  }
  if (args.fields) tidegate::bench::PrintFieldColumns(batches, kZstdLevel);
  return 0;
}
