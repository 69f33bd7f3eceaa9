// SPDX-License-Identifier: Apache-2.0
// Fuzzes the column decoder (schema/column_decoder.h): the input drives the building of a
// batch that is a valid FlatBuffer (so every input gets past verification to the
// reassembly) with arbitrary schema blocks: rows, columns of any type and form, values,
// layouts and remainders. Invariants: no crash, no read out of bounds; a refused batch is
// kCorruption; in an accepted one every block row's payload is a compact JSON object with
// one member per slot of its layout, and the batch renders as valid JSON.
#include <flatbuffers/flatbuffers.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "schema/batch_view.h"
#include "schema/payload_members.h"
#include "schema/tidegate_batch_generated.h"

namespace {

namespace wire = ::tidegate::wire;

// Reads the input front to back; zeros once it is used up.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() { return at_ < size_ ? data_[at_++] : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | U8();
    return v;
  }
  std::string Text() {
    const size_t n = U8() % 24;
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(U8()));
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

std::string Payload(Input& in) {
  static const char* const kPayloads[] = {
      "{}", R"({"fw":"1"})", R"({"a":{"b":[1]},"c":2})", R"({"x":"}","y":null})", "[]", "{"};
  const uint8_t pick = in.U8();
  return pick < 200 ? kPayloads[pick % 6] : in.Text();
}

std::string Path(Input& in) {
  static const char* const kPaths[] = {"/a", "/temp", "/a~1b", "/x/y", "", "/~2"};
  const uint8_t pick = in.U8();
  return pick < 200 ? kPaths[pick % 6] : "/" + in.Text();
}

flatbuffers::Offset<wire::Column> MakeColumn(flatbuffers::FlatBufferBuilder& b, Input& in,
                                             size_t rows) {
  const auto type = static_cast<wire::ColumnType>(in.U8() % 6);
  const size_t n = rows + (in.U8() % 8 == 0 ? 1 : 0);
  std::vector<uint8_t> form(n), bools(n);
  std::vector<double> doubles(n);
  std::vector<int64_t> longs(n);
  std::vector<flatbuffers::Offset<flatbuffers::String>> strings;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t f = in.U8();
    form[i] = f < 128 ? f % 3 : static_cast<uint8_t>(16 + f % 20);
    const uint64_t v = in.U64();
    doubles[i] = static_cast<double>(static_cast<int64_t>(v)) / 1000.0;
    longs[i] = static_cast<int64_t>(v);
    bools[i] = static_cast<uint8_t>(v & 1);
    strings.push_back(b.CreateString(in.Text()));
  }
  const uint8_t which = in.U8();
  return wire::CreateColumn(
      b, b.CreateString(Path(in)), type, b.CreateVector(form),
      which & 1 ? b.CreateVector(doubles) : 0, which & 2 ? b.CreateVector(longs) : 0,
      which & 4 ? b.CreateVector(strings) : 0, which & 8 ? b.CreateVector(bools) : 0);
}

flatbuffers::Offset<wire::SchemaBlock> MakeBlock(flatbuffers::FlatBufferBuilder& b, Input& in) {
  std::vector<uint32_t> rows(in.U8() % 6);
  for (uint32_t& r : rows) r = in.U8() % 8;
  std::vector<flatbuffers::Offset<wire::Column>> columns;
  for (size_t c = in.U8() % 4; c > 0; --c) columns.push_back(MakeColumn(b, in, rows.size()));
  std::vector<flatbuffers::Offset<wire::Layout>> layouts;
  for (size_t l = in.U8() % 3; l > 0; --l) {
    std::vector<uint16_t> slots(in.U8() % 6);
    for (uint16_t& s : slots) s = in.U8() % 5;
    layouts.push_back(wire::CreateLayout(b, b.CreateVector(slots)));
  }
  std::vector<uint16_t> row_layout(rows.size() + (in.U8() % 8 == 0 ? 1 : 0));
  for (uint16_t& l : row_layout) l = in.U8() % 3;
  return wire::CreateSchemaBlock(b, b.CreateString(in.U8() % 8 == 0 ? "" : "thermo"),
                                 static_cast<int64_t>(in.U8()), b.CreateVector(rows),
                                 b.CreateVector(columns), b.CreateVector(layouts),
                                 b.CreateVector(row_layout));
}

// Every row of an accepted block is a compact JSON object again.
void CheckRows(const tidegate::schema::DecodedSchemaBlock& block,
               const tidegate::schema::DecodedBatch& batch) {
  std::vector<tidegate::schema::PayloadMember> members;
  for (uint32_t row : block.rows) {
    TG_FUZZ_CHECK(row < batch.events.size());
    TG_FUZZ_CHECK(tidegate::schema::SplitTopLevelMembers(batch.events[row].payload, &members));
  }
}

// The invariants of a batch DecodeBatch accepted.
void CheckAccepted(const tidegate::schema::DecodedBatch& batch) {
  for (const auto& block : batch.schema_blocks) CheckRows(block, batch);
  const std::string json = tidegate::schema::BatchToJson(batch);
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  TG_FUZZ_CHECK(parser.parse(json).get(doc) == simdjson::SUCCESS);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<wire::Event>> events;
  for (size_t i = in.U8() % 8; i > 0; --i) {
    events.push_back(wire::CreateEvent(b, i, b.CreateString("t"), b.CreateString("d"), 0, 0, 0,
                                       b.CreateString(Payload(in))));
  }
  std::vector<flatbuffers::Offset<wire::SchemaBlock>> blocks;
  for (size_t k = in.U8() % 3; k > 0; --k) blocks.push_back(MakeBlock(b, in));
  const uint32_t version = in.U8() % 4 == 0 ? 1 : 2;
  wire::FinishBatchBuffer(
      b, wire::CreateBatch(b, version, b.CreateString("gw"), b.CreateString("id"), 0, 0, 0, 0,
                           b.CreateVector(events), 0, b.CreateVector(blocks)));
  const std::string_view bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  auto batch = tidegate::schema::DecodeBatch(bytes);
  if (!batch.ok()) {
    TG_FUZZ_CHECK(batch.status().code() == tidegate::StatusCode::kCorruption);
    return 0;
  }
  CheckAccepted(*batch);
  return 0;
}
