// SPDX-License-Identifier: Apache-2.0
// Verified decoding of wire batches (schema/tidegate_batch.fbs) for receivers and
// `tidegate inspect`: bounded zstd decompression, FlatBuffers verification into plain
// owning structs, and JSON rendering. Every input is treated as hostile; errors never quote
// payload bytes. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schema/zstd_dictionary.h"

namespace tidegate::schema {

// The newest Batch.schema_version this code understands (2: schema blocks, typed columns).
inline constexpr uint32_t kSchemaVersion = 2;

// EventFlag::Late, repeated here so users of the decoded structs need not include the
// generated header.
inline constexpr uint32_t kEventFlagLate = 1u << 0;

struct DecodedEvent {
  uint64_t seq = 0;
  std::string topic;
  std::string device_id;
  int64_t event_time = 0;   // ms since the Unix epoch
  int64_t ingest_time = 0;  // ms since the Unix epoch
  uint32_t flags = 0;       // EventFlag bits
  std::string payload;      // JSON text after the agent's privacy filter (valid UTF-8)
};

struct DecodedStat {
  std::string name;  // count, sum, min, max, avg, last, p50, p95, p99
  double value = 0;
};

struct DecodedMeasure {
  std::string field;  // JSON Pointer of the measured field
  std::vector<DecodedStat> stats;
};

struct DecodedWindowResult {
  uint64_t seq = 0;
  std::string name;
  std::string group_key;
  int64_t window_start = 0;  // ms since the Unix epoch
  int64_t window_end = 0;    // ms since the Unix epoch
  uint32_t revision = 0;
  bool final = false;
  std::vector<DecodedMeasure> measures;
};

struct DecodedSealedKey {
  uint64_t epoch = 0;
  std::string sealed;  // crypto_box_seal output: binary, not text
};

// ColumnType of schema/tidegate_batch.fbs.
enum class ColumnType : uint8_t { kNumber = 0, kInteger, kString, kBoolean, kTimestamp };

// One typed column of a schema block, one entry per row of the block. Only the vector of
// the column's type is filled; form[i] == 0 (null) means row i has no value here (the member
// is absent, or travels in the payload, e.g. a tokenized number).
struct DecodedColumn {
  std::string path;  // a JSON Pointer of one token, e.g. "/temp"
  ColumnType type = ColumnType::kString;
  std::vector<uint8_t> form;         // ColumnForm per row
  std::vector<double> numbers;       // kNumber
  std::vector<int64_t> integers;     // kInteger, kTimestamp (ms since the Unix epoch)
  std::vector<std::string> strings;  // kString
  std::vector<uint8_t> bools;        // kBoolean
};

// A schema block of a schema_version 2 batch. Its rows' payloads are already reassembled in
// DecodedBatch::events; this says which schema each of those events passed.
struct DecodedSchemaBlock {
  std::string name;
  int64_t version = 0;
  std::vector<uint32_t> rows;  // indices into DecodedBatch::events, ascending
  std::vector<DecodedColumn> columns;
};

struct DecodedBatch {
  uint32_t schema_version = 0;
  std::string agent_id;  // never empty
  std::string batch_id;  // never empty
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  int64_t created_at = 0;  // ms since the Unix epoch
  std::vector<DecodedSealedKey> sealed_keys;
  std::vector<DecodedEvent> events;
  std::vector<DecodedWindowResult> window_results;
  std::vector<DecodedSchemaBlock> schema_blocks;
};

// True if bytes start with the zstd frame magic number (28 B5 2F FD).
bool LooksZstdCompressed(std::string_view bytes);

// Decompresses one or more concatenated zstd frames. Never allocates more than about
// max_bytes + 1 whatever the frame header claims. A first frame that names a dictionary ID
// is decompressed with that dictionary of `dictionaries` (null: none loaded). Errors:
// kResourceExhausted if the output would exceed max_bytes (a zip bomb), kNotFound if the
// frame needs a dictionary that is not in `dictionaries` (its message names the ID),
// kCorruption for anything that is not complete, valid zstd (including input without the
// magic number and truncated frames).
Result<std::string> DecompressBatch(std::string_view compressed, size_t max_bytes,
                                    const DictionarySet* dictionaries = nullptr);

// Verifies flatbuffer_bytes as a Batch with file identifier "TGB1" and copies it out.
// Requires agent_id and batch_id to be present and non-empty, schema_version >= 1, and
// every string to be valid UTF-8. The payloads of events in schema blocks come back whole
// (schema/column_decoder.h), byte for byte as the agent buffered them. Any failure is kCorruption;
// the message names the element (e.g. "event 3: payload is not valid UTF-8") but never its content.
Result<DecodedBatch> DecodeBatch(std::string_view flatbuffer_bytes);

// A readable multi-line JSON rendering of a batch for `tidegate inspect`: times as RFC 3339
// strings, payloads as embedded JSON values, sealed keys as base64.
std::string BatchToJson(const DecodedBatch& batch);

// Appends a number as the landing format writes it: integral values of magnitude below
// 2^53 without a decimal point, other finite values in shortest round-trip form, NaN and
// infinities as null.
void AppendJsonNumber(std::string* out, double value);

// Appends payload as the JSON value it holds (whitespace outside strings removed, so the
// result fits on one NDJSON line), or as a JSON string if it is not valid JSON.
// REQUIRES: payload is valid UTF-8.
void AppendJsonPayload(std::string* out, std::string_view payload);

// Appends {"<field>":{"<stat>":value,...},...} in wire order.
void AppendMeasuresJson(std::string* out, const std::vector<DecodedMeasure>& measures);

}  // namespace tidegate::schema
