// SPDX-License-Identifier: Apache-2.0
// BatchEncoder builds the wire batch (schema/tidegate_batch.fbs) from buffered records and
// compresses it with zstd. The same records and range always give the same bytes, so a
// batch rebuilt after a restart is the batch that was sent before. Reuses one FlatBuffers
// builder and one zstd context: one encoder per uplink thread, not thread-safe.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <zstd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "buffer/sqlite_store.h"
#include "common/config.h"
#include "common/status.h"
#include "uplink/column_encoder.h"
#include "uplink/compression_dictionary.h"

namespace tidegate::wire {
struct WindowResult;
}  // namespace tidegate::wire

namespace tidegate::uplink {

struct EncodedBatch {
  std::string batch_id;
  std::string body;             // zstd-compressed FlatBuffer: the HTTP body
  uint32_t schema_version = 1;  // Batch.schema_version written into body: 2 with schema blocks
  size_t uncompressed_bytes = 0;
  uint32_t events = 0;
  uint32_t window_results = 0;
  uint32_t corrupt_records = 0;  // window result records that did not decode, left out
};

// "<buffer_id>-<first_seq>-<last_seq>": unique per buffer database, stable across retries.
std::string MakeBatchId(const std::string& buffer_id, uint64_t first_seq, uint64_t last_seq);

class BatchEncoder {
 public:
  // level: zstd compression level (1 is fast, ~6x on JSON events). With a dictionary, its
  // own level (the one it was digested at) applies and every frame names its ID.
  BatchEncoder(std::string agent_id, int level,
               std::shared_ptr<const CompressionDictionary> dictionary = nullptr);
  ~BatchEncoder();

  // The agent's schemas[]: events that passed one of them travel with its declared top-level
  // fields as typed columns (wire schema_version 2, uplink/column_encoder.h). Without any
  // (the default) every batch is schema_version 1. A record whose (schema, version) is not
  // here travels whole.
  void SetSchemas(const std::vector<SchemaSpec>& schemas);

  // Encodes records (all of range.priority, within range) as one batch, with the sealed
  // data keys of the key epochs its encrypted values use.
  Result<EncodedBatch> Encode(const buffer::BatchRange& range,
                              const std::vector<buffer::BufferedRecord>& records,
                              const std::vector<buffer::SealedKeyEpoch>& sealed_keys = {});

  // The uncompressed FlatBuffer of the last Encode (valid until the next call).
  std::string_view last_flatbuffer() const;

 private:
  Result<flatbuffers::Offset<tidegate::wire::WindowResult>> EncodeWindow(
      const buffer::BufferedRecord& record);

  struct ZstdFree {
    void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
  };
  const std::string agent_id_;
  const int level_;
  flatbuffers::FlatBufferBuilder builder_;
  std::unique_ptr<ZSTD_CCtx, ZstdFree> cctx_;
  std::shared_ptr<const CompressionDictionary> dictionary_;  // null: none
  ColumnEncoder columns_;
  std::string remainder_;   // scratch for one event's remainder payload
  std::string compressed_;  // scratch for the compressed batch, as large as the largest yet
};

}  // namespace tidegate::uplink
