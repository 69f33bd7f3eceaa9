// SPDX-License-Identifier: Apache-2.0
#include "uplink/batch_encoder.h"

#include "schema/tidegate_batch_generated.h"

namespace tidegate::uplink {

std::string MakeBatchId(const std::string& buffer_id, uint64_t first_seq, uint64_t last_seq) {
  return buffer_id + "-" + std::to_string(first_seq) + "-" + std::to_string(last_seq);
}

BatchEncoder::BatchEncoder(std::string agent_id, int level)
    : agent_id_(std::move(agent_id)),
      level_(level),
      builder_(64 * 1024),
      cctx_(ZSTD_createCCtx()) {}

BatchEncoder::~BatchEncoder() = default;

Result<EncodedBatch> BatchEncoder::Encode(const buffer::BatchRange& range,
                                          const std::vector<buffer::BufferedRecord>& records,
                                          const std::vector<buffer::SealedKeyEpoch>& sealed_keys) {
  namespace wire = tidegate::wire;
  builder_.Clear();
  std::vector<flatbuffers::Offset<wire::SealedKey>> keys;
  for (const buffer::SealedKeyEpoch& k : sealed_keys) {
    keys.push_back(wire::CreateSealedKey(
        builder_, k.epoch,
        builder_.CreateVector(reinterpret_cast<const uint8_t*>(k.sealed.data()), k.sealed.size())));
  }
  std::vector<flatbuffers::Offset<wire::Event>> events;
  events.reserve(records.size());
  for (const buffer::BufferedRecord& r : records) {
    const Event& e = r.event;
    events.push_back(wire::CreateEvent(
        builder_, r.seq, builder_.CreateString(e.topic), builder_.CreateString(e.device_id),
        e.event_time_ms, e.ingest_time_ms, e.flags, builder_.CreateString(e.payload)));
  }
  auto batch = wire::CreateBatch(
      builder_, /*schema_version=*/1, builder_.CreateString(agent_id_),
      builder_.CreateString(range.batch_id), range.first_seq, range.last_seq, range.created_at_ms,
      keys.empty() ? 0 : builder_.CreateVector(keys), builder_.CreateVector(events),
      /*window_results=*/0);
  wire::FinishBatchBuffer(builder_, batch);

  EncodedBatch out;
  out.batch_id = range.batch_id;
  out.uncompressed_bytes = builder_.GetSize();
  out.events = static_cast<uint32_t>(events.size());
  out.body.resize(ZSTD_compressBound(builder_.GetSize()));
  size_t n = ZSTD_compressCCtx(cctx_.get(), out.body.data(), out.body.size(),
                               builder_.GetBufferPointer(), builder_.GetSize(), level_);
  if (ZSTD_isError(n)) {
    return Internal(std::string("zstd compress of batch ") + range.batch_id + ": " +
                    ZSTD_getErrorName(n));
  }
  out.body.resize(n);
  return out;
}

std::string_view BatchEncoder::last_flatbuffer() const {
  return {reinterpret_cast<const char*>(builder_.GetBufferPointer()), builder_.GetSize()};
}

}  // namespace tidegate::uplink
