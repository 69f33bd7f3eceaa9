// SPDX-License-Identifier: Apache-2.0
// fuzz_seed_maker CORPUS_DIR: writes seed inputs made by the real encoders into
// CORPUS_DIR/<fuzzer>/seed-*, so the fuzzers start from well-formed records (a window-result
// record, aggregation checkpoint rows, zstd and plain batches, a sealed value, configs of
// every key of the config key table) and mutate from there. Run it again after a format change and
// commit what it wrote. Deterministic except for the sealed value's random nonce.
#include <sodium.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/byte_codec.h"
#include "common/window_result.h"
#include "filters/aggregator.h"
#include "fuzz/agg_checkpoint_config.h"
#include "fuzz/batch_dictionary.h"
#include "fuzz/config_seeds.h"
#include "schema/sealed_value.h"
#include "uplink/batch_encoder.h"
#include "uplink/compression_dictionary.h"

namespace {

namespace fs = std::filesystem;
using tidegate::Event;
using tidegate::RecordKind;

bool Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::fprintf(stderr, "seed_maker: cannot write %s\n", (dir / name).c_str());
  return static_cast<bool>(out);
}

// Runs the checkpoint config over two devices; returns the checkpoint rows it leaves and the
// window results it emitted.
std::map<std::string, std::string> RunAggregation(std::vector<Event>* results) {
  static const tidegate::Config kConfig = tidegate::fuzz::CheckpointConfig();
  tidegate::filters::Aggregator aggregator(kConfig);
  std::map<std::string, std::string> state;
  std::map<std::string, int64_t> counters;
  for (int step = 0; step < 6; ++step) {
    const int64_t offset_ms = int64_t{step} * 25'000;
    std::vector<Event> records = {
        tidegate::fuzz::CheckpointEvent("dev-1", offset_ms, 20.5 + step),
        tidegate::fuzz::CheckpointEvent("dev-2", offset_ms - 70'000, -3.25 * step)};
    std::vector<tidegate::filters::StateChange> changes;
    aggregator.Process(records, tidegate::fuzz::kCheckpointNowMs + offset_ms, &changes, &counters);
    for (const auto& c : changes) {
      if (c.erase) state.erase(c.key);
      if (!c.erase) state[c.key] = c.value;
    }
    for (Event& e : records) {
      if (e.kind == RecordKind::kWindowResult) results->push_back(std::move(e));
    }
  }
  return state;
}

std::vector<tidegate::buffer::BufferedRecord> BatchRecords(const std::vector<Event>& windows) {
  std::vector<tidegate::buffer::BufferedRecord> records;
  uint64_t seq = 100;
  for (int i = 0; i < 6; ++i) {
    auto& r = records.emplace_back();
    r.seq = seq++;
    r.event = tidegate::fuzz::CheckpointEvent("dev-" + std::to_string(i % 3), int64_t{i} * 1000, i);
    r.event.flags = static_cast<uint32_t>(i % 2);
  }
  for (const Event& w : windows) records.push_back({.seq = seq++, .event = w});
  return records;
}

bool WriteBatches(const fs::path& corpus, const std::vector<Event>& windows) {
  const auto records = BatchRecords(windows);
  const tidegate::buffer::BatchRange range{
      .batch_id = tidegate::uplink::MakeBatchId("seed", records.front().seq, records.back().seq),
      .priority = 5,
      .first_seq = records.front().seq,
      .last_seq = records.back().seq,
      .count = static_cast<uint32_t>(records.size()),
      .created_at_ms = tidegate::fuzz::kCheckpointNowMs};
  tidegate::uplink::BatchEncoder encoder("gw-seed", 3);
  auto encoded = encoder.Encode(range, records, {{.epoch = 1, .sealed = std::string(80, 's')}});
  if (!encoded.ok()) return false;
  auto dictionary = tidegate::uplink::CompressionDictionary::FromBytes(
      tidegate::fuzz::BatchDictionary(), 3, "fuzz/batch_dictionary");
  if (!dictionary.ok()) return false;
  tidegate::uplink::BatchEncoder with_dictionary("gw-seed", 3, *dictionary);
  auto compact = with_dictionary.Encode(range, records);
  if (!compact.ok()) return false;
  // The first byte picks the fuzzer's path: even = zstd body, odd = plain FlatBuffer.
  return Write(corpus / "batch", "seed-zstd", std::string(1, '\0') + encoded->body) &&
         Write(corpus / "batch", "seed-zstd-dictionary", std::string(1, '\0') + compact->body) &&
         Write(corpus / "batch", "seed-flatbuffer",
               std::string(1, '\1') + std::string(encoder.last_flatbuffer()));
}

// A schema_version 2 batch: events of schema "thermo" with their fields as typed columns.
bool WriteColumnarBatch(const fs::path& corpus) {
  tidegate::SchemaSpec spec;
  spec.name = "thermo";
  spec.match = "devices/+/telemetry";
  const std::pair<const char*, tidegate::FieldType> fields[] = {
      {"/device_id", tidegate::FieldType::kString},
      {"/ts", tidegate::FieldType::kTimestamp},
      {"/temp", tidegate::FieldType::kNumber},
      {"/seq", tidegate::FieldType::kInteger},
      {"/ok", tidegate::FieldType::kBoolean}};
  for (const auto& [path, type] : fields) {
    tidegate::SchemaFieldSpec& f = spec.fields.emplace_back();
    f.path = path;
    f.type = type;
  }
  std::vector<tidegate::buffer::BufferedRecord> records;
  const char* payloads[] = {
      R"({"device_id":"d1","ts":1764000000000,"temp":21.50,"seq":1,"ok":true,"fw":"1"})",
      R"({"fw":"2","temp":"tok:1:abc","ts":"2026-12-06T02:00:00.000Z","ok":false})", R"({"a":1})",
      R"({})"};
  for (size_t i = 0; i < std::size(payloads); ++i) {
    auto& r = records.emplace_back();
    r.seq = 10 + i;
    r.event.topic = "devices/d1/telemetry";
    r.event.device_id = "d1";
    r.event.payload = payloads[i];
    r.event.schema_name = i == 2 ? "" : "thermo";
    r.event.schema_version = 1;
  }
  const tidegate::buffer::BatchRange range{.batch_id = "seed-10-13",
                                           .priority = 5,
                                           .first_seq = 10,
                                           .last_seq = 13,
                                           .count = 4,
                                           .created_at_ms = tidegate::fuzz::kCheckpointNowMs};
  tidegate::uplink::BatchEncoder encoder("gw-seed", 3);
  encoder.SetSchemas({spec});
  auto encoded = encoder.Encode(range, records);
  return encoded.ok() && encoded->schema_version == 2 &&
         Write(corpus / "batch", "seed-columnar",
               std::string(1, '\1') + std::string(encoder.last_flatbuffer()));
}

bool WriteSealedValue(const fs::path& corpus) {
  tidegate::schema::DataKey key;
  key.fill(9);  // not the fuzzer's key: a well-formed value it must still refuse
  std::string sealed;
  tidegate::schema::AppendSealedValue(3, key, R"("alice@example.com")", &sealed);
  std::string counted;
  tidegate::schema::AppendCountedSealedValue(3, key, 300, R"("alice@example.com")", &counted);
  return Write(corpus / "sealed_value", "seed-value", sealed) &&
         Write(corpus / "sealed_value", "seed-counted-value", counted);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seed_maker CORPUS_DIR (e.g. fuzz/corpus)\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  const fs::path corpus = argv[1];
  std::vector<Event> windows;
  const auto state = RunAggregation(&windows);
  std::string rows;
  tidegate::ByteWriter writer(&rows);
  for (const auto& [key, value] : state) {
    writer.PutString(key);
    writer.PutString(value);
  }
  bool ok = !windows.empty() && Write(corpus / "agg_checkpoint", "seed-rows", rows);
  for (size_t i = 0; i < windows.size() && i < 2; ++i) {
    ok = ok && Write(corpus / "window_result", "seed-" + std::to_string(i), windows[i].payload);
  }
  ok = ok && WriteBatches(corpus, windows) && WriteColumnarBatch(corpus) &&
       WriteSealedValue(corpus) && tidegate::fuzz::WriteConfigSeeds(corpus);
  std::printf("seed_maker: %s (%zu checkpoint rows, %zu window results)\n",
              ok ? "wrote seeds" : "FAILED", state.size(), windows.size());
  return ok ? 0 : 1;
}
