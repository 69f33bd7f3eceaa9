// SPDX-License-Identifier: Apache-2.0
#include "uplink/batch_encoder.h"

#include <spdlog/spdlog.h>

#include "common/window_result.h"
#include "schema/tidegate_batch_generated.h"

namespace tidegate::uplink {
namespace {

constexpr uint32_t kWireSchemaVersion = 1;
constexpr uint32_t kColumnarSchemaVersion = 2;

}  // namespace

std::string MakeBatchId(const std::string& buffer_id, uint64_t first_seq, uint64_t last_seq) {
  return buffer_id + "-" + std::to_string(first_seq) + "-" + std::to_string(last_seq);
}

BatchEncoder::BatchEncoder(std::string agent_id, int level,
                           std::shared_ptr<const CompressionDictionary> dictionary)
    : agent_id_(std::move(agent_id)),
      level_(level),
      builder_(size_t{64} * 1024),
      cctx_(ZSTD_createCCtx()),
      dictionary_(std::move(dictionary)) {}

BatchEncoder::~BatchEncoder() = default;

void BatchEncoder::SetSchemas(const std::vector<SchemaSpec>& schemas) {
  columns_ = ColumnEncoder(schemas);
}

Result<EncodedBatch> BatchEncoder::Encode(const buffer::BatchRange& range,
                                          const std::vector<buffer::BufferedRecord>& records,
                                          const std::vector<buffer::SealedKeyEpoch>& sealed_keys) {
  namespace wire = tidegate::wire;
  builder_.Clear();
  columns_.Clear();
  std::vector<flatbuffers::Offset<wire::SealedKey>> keys;
  keys.reserve(sealed_keys.size());
  for (const buffer::SealedKeyEpoch& k : sealed_keys) {
    auto sealed =
        builder_.CreateVector(reinterpret_cast<const uint8_t*>(k.sealed.data()), k.sealed.size());
    keys.push_back(wire::CreateSealedKey(builder_, k.epoch, sealed));
  }
  std::vector<flatbuffers::Offset<wire::Event>> events;
  std::vector<flatbuffers::Offset<wire::WindowResult>> windows;
  uint32_t corrupt = 0;
  events.reserve(records.size());
  for (const buffer::BufferedRecord& r : records) {
    const Event& e = r.event;
    if (e.kind == RecordKind::kWindowResult) {
      // A record that does not decode (a damaged database page) is left out rather than
      // blocking the uplink forever; the same range always leaves it out the same way.
      auto w = EncodeWindow(r);
      if (w.ok()) {
        windows.push_back(*w);
      } else {
        ++corrupt;
        spdlog::error("uplink: {} left out of batch {}", w.status().ToString(), range.batch_id);
      }
      continue;
    }
    const auto row = static_cast<uint32_t>(events.size());
    const std::string& payload = columns_.Add(row, e, &remainder_) ? remainder_ : e.payload;
    // Children one statement each: argument evaluation order is unspecified (GCC and clang
    // differ) and would decide the bytes of the batch. Payload first: the simulator's default
    // events take 59.2 bytes each on the wire so, 62.2 topic first (build/bin/wire_bytes).
    auto payload_string = builder_.CreateString(payload);
    auto device_id = builder_.CreateString(e.device_id);
    auto topic = builder_.CreateString(e.topic);
    events.push_back(wire::CreateEvent(builder_, r.seq, topic, device_id, e.event_time_ms,
                                       e.ingest_time_ms, e.flags, payload_string));
  }
  const uint32_t schema_version = columns_.empty() ? kWireSchemaVersion : kColumnarSchemaVersion;
  auto blocks = columns_.Finish(builder_);
  auto agent_id = builder_.CreateString(agent_id_);
  auto batch_id = builder_.CreateString(range.batch_id);
  auto key_vector = keys.empty() ? 0 : builder_.CreateVector(keys);
  auto event_vector = builder_.CreateVector(events);
  auto window_vector = windows.empty() ? 0 : builder_.CreateVector(windows);
  auto batch = wire::CreateBatch(builder_, schema_version, agent_id, batch_id, range.first_seq,
                                 range.last_seq, range.created_at_ms, key_vector, event_vector,
                                 window_vector, blocks);
  wire::FinishBatchBuffer(builder_, batch);

  EncodedBatch out;
  out.batch_id = range.batch_id;
  out.schema_version = schema_version;
  out.uncompressed_bytes = builder_.GetSize();
  out.events = static_cast<uint32_t>(events.size());
  out.window_results = static_cast<uint32_t>(windows.size());
  out.corrupt_records = corrupt;
  // Compressed into a buffer kept across batches, then copied out at its size: the body
  // waits in the send queue, and a fresh bound-sized buffer would be zeroed for each batch.
  const size_t bound = ZSTD_compressBound(builder_.GetSize());
  if (compressed_.size() < bound) compressed_.resize(bound);
  size_t n = dictionary_ != nullptr
                 ? ZSTD_compress_usingCDict(cctx_.get(), compressed_.data(), compressed_.size(),
                                            builder_.GetBufferPointer(), builder_.GetSize(),
                                            dictionary_->cdict())
                 : ZSTD_compressCCtx(cctx_.get(), compressed_.data(), compressed_.size(),
                                     builder_.GetBufferPointer(), builder_.GetSize(), level_);
  if (ZSTD_isError(n)) {
    return Internal(std::string("zstd compress of batch ") + range.batch_id + ": " +
                    ZSTD_getErrorName(n));
  }
  out.body.assign(compressed_.data(), n);
  return out;
}

// A buffered window result record (common/window_result.h) as a wire WindowResult.
Result<flatbuffers::Offset<wire::WindowResult>> BatchEncoder::EncodeWindow(
    const buffer::BufferedRecord& record) {
  auto decoded = DecodeWindowResult(record.event.payload);
  if (!decoded.ok()) {
    return Corruption("buffered window result seq " + std::to_string(record.seq) + ": " +
                      decoded.status().message());
  }
  const WindowResult& w = *decoded;
  std::vector<flatbuffers::Offset<wire::Measure>> measures;
  for (const MeasureResult& m : w.measures) {
    std::vector<flatbuffers::Offset<wire::Stat>> stats;
    for (const auto& [name, value] : m.stats) {
      auto stat_name = builder_.CreateString(name);
      stats.push_back(wire::CreateStat(builder_, stat_name, value));
    }
    auto field = builder_.CreateString(m.field);
    auto stat_vector = builder_.CreateVector(stats);
    measures.push_back(wire::CreateMeasure(builder_, field, stat_vector));
  }
  auto name = builder_.CreateString(w.name);
  auto group_key = builder_.CreateString(w.group_key);
  auto measure_vector = builder_.CreateVector(measures);
  return wire::CreateWindowResult(builder_, record.seq, name, group_key, w.window_start,
                                  w.window_end, w.revision, w.final, measure_vector);
}

std::string_view BatchEncoder::last_flatbuffer() const {
  return {reinterpret_cast<const char*>(builder_.GetBufferPointer()), builder_.GetSize()};
}

}  // namespace tidegate::uplink
