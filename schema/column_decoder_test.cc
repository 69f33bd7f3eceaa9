// SPDX-License-Identifier: Apache-2.0
// Hostile schema blocks: each way a block can fail to account for its rows is refused with
// kCorruption naming the block, never a value. Batches are built by hand with the generated
// API so that each one is a verified FlatBuffer broken in exactly one way.
#include "schema/column_decoder.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "schema/batch_view.h"
#include "schema/payload_members.h"
#include "schema/tidegate_batch_generated.h"

namespace tidegate::schema {
namespace {

namespace wire = ::tidegate::wire;

// A valid batch: events 0 and 2 in block "thermo" v1 with column /temp, event 1 plain.
struct Knobs {
  uint32_t schema_version = 2;
  std::vector<uint32_t> rows = {0, 2};
  std::vector<uint8_t> form = {kFormValue, kFormFixed0 + 2};
  std::vector<double> doubles = {21.5, 20};
  std::string path = "/temp";
  std::vector<uint16_t> slots = {1, 0};
  std::vector<uint16_t> row_layout = {0, 0};
  std::string remainder0 = R"({"fw":"1"})";
  bool second_block_claims_row_2 = false;
};

std::string Build(const Knobs& k) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<wire::Event>> events;
  const std::vector<std::string> payloads = {k.remainder0, R"({"temp":1})", R"({"fw":"2"})"};
  for (const std::string& p : payloads) {
    events.push_back(wire::CreateEvent(b, 1, b.CreateString("t"), b.CreateString("d"), 0, 0, 0,
                                       b.CreateString(p)));
  }
  auto column = wire::CreateColumn(b, b.CreateString(k.path), wire::ColumnType::Number,
                                   b.CreateVector(k.form), b.CreateVector(k.doubles));
  std::vector<flatbuffers::Offset<wire::Layout>> layouts = {
      wire::CreateLayout(b, b.CreateVector(k.slots))};
  std::vector<flatbuffers::Offset<wire::SchemaBlock>> blocks = {wire::CreateSchemaBlock(
      b, b.CreateString("thermo"), 1, b.CreateVector(k.rows),
      b.CreateVector(std::vector<flatbuffers::Offset<wire::Column>>{column}),
      b.CreateVector(layouts), b.CreateVector(k.row_layout))};
  if (k.second_block_claims_row_2) {
    const std::vector<uint32_t> rows = {2};
    const std::vector<uint16_t> one = {0};
    const std::vector<uint16_t> zero = {0};
    blocks.push_back(
        wire::CreateSchemaBlock(b, b.CreateString("other"), 1, b.CreateVector(rows), 0,
                                b.CreateVector(std::vector<flatbuffers::Offset<wire::Layout>>{
                                    wire::CreateLayout(b, b.CreateVector(zero))}),
                                b.CreateVector(one)));
  }
  auto batch = wire::CreateBatch(b, k.schema_version, b.CreateString("gw"), b.CreateString("id"), 1,
                                 3, 0, 0, b.CreateVector(events), 0, b.CreateVector(blocks));
  wire::FinishBatchBuffer(b, batch);
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

std::string CorruptionOf(const Knobs& k) {
  auto batch = DecodeBatch(Build(k));
  REQUIRE_FALSE(batch.ok());
  CHECK(batch.status().code() == StatusCode::kCorruption);
  return batch.status().message();
}

}  // namespace

TEST_CASE("a hand-built schema block reassembles its rows", "[schema][schemas]") {
  auto batch = DecodeBatch(Build(Knobs{}));
  INFO(batch.status().ToString());
  REQUIRE(batch.ok());
  REQUIRE(batch->events.size() == 3);
  CHECK(batch->events[0].payload == R"({"temp":21.5,"fw":"1"})");
  CHECK(batch->events[1].payload == R"({"temp":1})");
  CHECK(batch->events[2].payload == R"({"temp":20.00,"fw":"2"})");
  REQUIRE(batch->schema_blocks.size() == 1);
  CHECK(batch->schema_blocks[0].rows == std::vector<uint32_t>{0, 2});
  CHECK(batch->schema_blocks[0].columns[0].path == "/temp");
}

TEST_CASE("hostile schema blocks are refused as corruption", "[schema][schemas]") {
  Knobs k;
  SECTION("blocks in a schema_version 1 batch") {
    k.schema_version = 1;
    CHECK(CorruptionOf(k).find("schema_version 1") != std::string::npos);
  }
  SECTION("a row outside the events") {
    k.rows = {0, 3};
    CHECK(CorruptionOf(k).find("outside") != std::string::npos);
  }
  SECTION("rows not ascending") {
    k.rows = {2, 0};
    CHECK(CorruptionOf(k).find("ascending") != std::string::npos);
  }
  SECTION("a row in two blocks") {
    k.second_block_claims_row_2 = true;
    CHECK(CorruptionOf(k).find("two blocks") != std::string::npos);
  }
  SECTION("a column shorter than its rows") {
    k.doubles = {21.5};
    CHECK(CorruptionOf(k).find("one entry per row") != std::string::npos);
  }
  SECTION("a nested or overlong path") {
    k.path = "/a/b";
    CHECK(CorruptionOf(k).find("JSON Pointer") != std::string::npos);
    k.path = "/" + std::string(kMaxColumnKeyBytes + 1, 'k');
    CHECK(CorruptionOf(k).find("JSON Pointer") != std::string::npos);
  }
  SECTION("a form the type does not have") {
    k.form = {kFormRfc3339, kFormValue};
    CHECK(CorruptionOf(k).find("form") != std::string::npos);
  }
  SECTION("fixed notation of a huge number") {
    k.doubles = {1e300, 20};
    k.form = {kFormFixed0 + 2, kFormValue};
    CHECK(CorruptionOf(k).find("form") != std::string::npos);
  }
  SECTION("a value the layout does not place") {
    k.slots = {0};
    CHECK(CorruptionOf(k).find("exactly once") != std::string::npos);
  }
  SECTION("a column placed twice") {
    k.slots = {1, 1, 0};
    // The whole message: where (block, row) then what.
    CHECK(CorruptionOf(k) == "schema block 0 row 0: a slot names a column out of range or twice");
  }
  SECTION("remainder members left over or missing") {
    k.slots = {1};
    CHECK(CorruptionOf(k).find("left over") != std::string::npos);
    k.slots = {1, 0, 0};
    CHECK(CorruptionOf(k).find("too few") != std::string::npos);
  }
  SECTION("a layout index out of range") {
    k.row_layout = {0, 1};
    CHECK(CorruptionOf(k).find("layout") != std::string::npos);
  }
  SECTION("a remainder that is not a compact object") {
    k.remainder0 = R"({"fw": "1"})";
    CHECK(CorruptionOf(k).find("compact JSON object") != std::string::npos);
  }
}

TEST_CASE("top-level members split only from a compact object", "[schema][schemas]") {
  std::vector<PayloadMember> m;
  REQUIRE(SplitTopLevelMembers(R"({"a":1,"b":{"c":"}"},"d":[1,[2]],"e":"x\"y"})", &m));
  REQUIRE(m.size() == 4);
  CHECK(m[1].value_raw == R"({"c":"}"})");
  CHECK(m[2].value_raw == "[1,[2]]");
  CHECK(m[3].value_raw == R"("x\"y")");
  CHECK(SplitTopLevelMembers("{}", &m));
  CHECK(m.empty());
  for (const char* bad : {"", "{", "[]", R"({"a":1,})", R"({"a" :1})", R"({"a":{"b":1})",
                          R"({"a":"x)", R"({"a":1}})", R"({a:1})", R"({"a":})"}) {
    INFO(bad);
    CHECK_FALSE(SplitTopLevelMembers(bad, &m));
  }
}

}  // namespace tidegate::schema
