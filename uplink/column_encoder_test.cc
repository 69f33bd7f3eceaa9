// SPDX-License-Identifier: Apache-2.0
// The columnar layout (wire schema_version 2) end to end through the real encoder and
// decoder: every payload comes back byte for byte, whatever its key order, nulls, forms or
// mix of schemas, and the typed columns hold the declared values.
#include "uplink/column_encoder.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "schema/batch_view.h"
#include "schema/tidegate_batch_generated.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "uplink/batch_encoder.h"

namespace tidegate::uplink {
namespace {

using buffer::BatchRange;
using buffer::BufferedRecord;

SchemaSpec Thermo(int64_t version) {
  SchemaSpec spec;
  spec.name = "thermo";
  spec.version = version;
  spec.match = "devices/+/telemetry";
  auto add = [&spec](std::string path, FieldType type) {
    SchemaFieldSpec field;
    field.path = std::move(path);
    field.type = type;
    spec.fields.push_back(std::move(field));
  };
  add("/device_id", FieldType::kString);
  add("/ts", FieldType::kTimestamp);
  add("/seq", FieldType::kInteger);
  add("/temp", FieldType::kNumber);
  add("/ok", FieldType::kBoolean);
  add("/env/pressure", FieldType::kNumber);  // nested: no column
  if (version >= 2) add("/rssi", FieldType::kInteger);
  return spec;
}

BufferedRecord Record(uint64_t seq, std::string schema, int64_t version, std::string payload) {
  BufferedRecord r;
  r.seq = seq;
  r.event.topic = schema.empty() ? "plain/topic" : "devices/d1/telemetry";
  r.event.device_id = "d1";
  r.event.event_time_ms = 1'764'000'000'000 + static_cast<int64_t>(seq);
  r.event.ingest_time_ms = 1'764'000'000'500;
  r.event.schema_name = std::move(schema);
  r.event.schema_version = version;
  r.event.payload = std::move(payload);
  return r;
}

BatchRange RangeFor(const std::vector<BufferedRecord>& records) {
  const uint64_t first = records.empty() ? 1 : records.front().seq;
  const uint64_t last = records.empty() ? 1 : records.back().seq;
  return BatchRange{.batch_id = MakeBatchId("abc", first, last),
                    .priority = 5,
                    .first_seq = first,
                    .last_seq = last,
                    .count = static_cast<uint32_t>(records.size()),
                    .created_at_ms = 1'764'000'001'000};
}

schema::DecodedBatch RoundTrip(BatchEncoder& encoder, const std::vector<BufferedRecord>& records) {
  auto encoded = encoder.Encode(RangeFor(records), records);
  REQUIRE(encoded.ok());
  auto raw = schema::DecompressBatch(encoded->body, 1 << 26);
  REQUIRE(raw.ok());
  auto batch = schema::DecodeBatch(*raw);
  INFO(batch.status().ToString());
  REQUIRE(batch.ok());
  CHECK(batch->schema_version == encoded->schema_version);
  REQUIRE(batch->events.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    INFO("event " << i);
    CHECK(batch->events[i].payload == records[i].event.payload);
  }
  return std::move(*batch);
}

const wire::Column* ColumnOf(const wire::SchemaBlock& block, std::string_view path) {
  for (const wire::Column* c : *block.columns()) {
    if (c->path()->string_view() == path) return c;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("columnar batches give back every payload byte for byte", "[uplink][schemas]") {
  BatchEncoder encoder("gw-1", 1);
  encoder.SetSchemas({Thermo(1), Thermo(2)});
  std::vector<BufferedRecord> records = {
      Record(1, "thermo", 1, R"({"device_id":"d1","ts":1764000000000,"seq":1,"temp":21.50})"),
      Record(2, "", 0, R"({"device_id":"d1","temp":21.5})"),
      // Another order, a remainder member between columns, an absent optional field.
      Record(3, "thermo", 1, R"({"temp":-3.07,"fw":"1.2","device_id":"d1","seq":2})"),
      // RFC 3339 time, a tokenized number (a string: stays in the payload), a nested field.
      Record(4, "thermo", 1,
             R"({"ts":"2026-12-06T02:00:00.000Z","temp":"tok:k1:AAAA","env":{"pressure":1013}})"),
      // Forms that do not write back the same: exponent, escaped string, "-0", whitespace.
      Record(5, "thermo", 1, R"({"temp":2.15e1,"device_id":"d\u0031","seq":-0,"ok":true})"),
      Record(6, "thermo", 1, R"({"device_id": "d1", "seq": 3})"),
      Record(7, "thermo", 2, R"({"device_id":"d1","rssi":-71,"ok":false,"temp":20})"),
      Record(8, "thermo", 1, R"({"device_id":"d1","device_id":"d2","seq":4})"),
      Record(9, "thermo", 1, R"({})"),
      Record(10, "other", 1, R"({"device_id":"d1"})"),  // a schema this agent does not know
      Record(11, "thermo", 1, R"({"ts":"2026-12-06T02:00:00Z","temp":45.0,"seq":5})"),
  };
  schema::DecodedBatch batch = RoundTrip(encoder, records);
  CHECK(batch.schema_version == 2);
  REQUIRE(batch.schema_blocks.size() == 2);
  CHECK(batch.schema_blocks[0].name == "thermo");
  CHECK(batch.schema_blocks[0].version == 1);
  CHECK(batch.schema_blocks[0].rows == std::vector<uint32_t>{0, 2, 3, 4, 7, 8, 10});
  CHECK(batch.schema_blocks[1].version == 2);
  CHECK(batch.schema_blocks[1].rows == std::vector<uint32_t>{6});
  REQUIRE(batch.schema_blocks[0].columns.size() == 5);  // /env/pressure has none
  CHECK(batch.schema_blocks[0].columns[3].path == "/temp");
  CHECK(batch.schema_blocks[0].columns[3].type == schema::ColumnType::kNumber);

  // The typed values on the wire, and the remainders.
  const wire::Batch* fb = wire::GetBatch(encoder.last_flatbuffer().data());
  const wire::SchemaBlock& v1 = *fb->schema_blocks()->Get(0);
  const wire::Column* temp = ColumnOf(v1, "/temp");
  REQUIRE(temp != nullptr);
  CHECK(temp->doubles()->Get(0) == 21.5);
  CHECK(temp->form()->Get(0) == schema::kFormFixed0 + 2);
  CHECK(temp->form()->Get(2) == schema::kFormNull);  // the tokenized one
  CHECK(temp->form()->Get(6) == schema::kFormFixed0 + 1);
  const wire::Column* ts = ColumnOf(v1, "/ts");
  CHECK(ts->longs()->Get(0) == 1'764'000'000'000);
  CHECK(ts->form()->Get(2) == schema::kFormRfc3339);
  CHECK(ts->form()->Get(6) == schema::kFormNull);  // no milliseconds: not canonical
  CHECK(fb->events()->Get(0)->payload()->string_view() == "{}");
  CHECK(fb->events()->Get(1)->payload()->string_view() == records[1].event.payload);
  CHECK(fb->events()->Get(2)->payload()->string_view() == R"({"fw":"1.2"})");
  CHECK(fb->events()->Get(5)->payload()->string_view() == records[5].event.payload);
  CHECK(fb->events()->Get(7)->payload()->string_view() == R"({"device_id":"d2"})");
}

TEST_CASE("the columnar layout is pinned by a golden batch", "[uplink][schemas]") {
  // tests/data/batch-v2-columnar.tgb: the uncompressed FlatBuffer of these records. A change
  // that alters it changes the wire format: bump schema_version, keep the old file, and
  // write the new one with TIDEGATE_WRITE_GOLDEN=1.
  std::vector<BufferedRecord> records = {
      Record(1, "thermo", 1, R"({"device_id":"d1","ts":1764000000000,"seq":1,"temp":21.50})"),
      Record(2, "", 0, R"({"device_id":"d1","temp":21.5})"),
      Record(3, "thermo", 2,
             R"({"ts":"2026-12-06T02:00:00.000Z","temp":"tok:k1:AAAA","rssi":-70,"ok":true})"),
  };
  BatchEncoder encoder("gw-golden", 3);
  encoder.SetSchemas({Thermo(1), Thermo(2)});
  REQUIRE(encoder.Encode(RangeFor(records), records).ok());
  const std::string path = testing::SourcePath("tests/data/batch-v2-columnar.tgb");
  const std::string written(encoder.last_flatbuffer());
  if (std::getenv("TIDEGATE_WRITE_GOLDEN") != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    REQUIRE(testing::WriteFile(path, written).ok());
  }
  const std::string golden = testing::ReadFile(path);
  CHECK(golden == written);
  auto batch = schema::DecodeBatch(golden);
  REQUIRE(batch.ok());
  REQUIRE(batch->events.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    CHECK(batch->events[i].payload == records[i].event.payload);
  }
}

TEST_CASE("a batch without schema events is schema_version 1 as before", "[uplink][schemas]") {
  std::vector<BufferedRecord> records = {Record(1, "", 0, R"({"a":1})"),
                                         Record(2, "", 0, R"({"b":2})")};
  BatchEncoder plain("gw-1", 1);
  BatchEncoder with_schemas("gw-1", 1);
  with_schemas.SetSchemas({Thermo(1)});
  auto a = plain.Encode(RangeFor(records), records);
  auto b = with_schemas.Encode(RangeFor(records), records);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(b->schema_version == 1);
  CHECK(a->body == b->body);
  CHECK(RoundTrip(with_schemas, records).schema_blocks.empty());
}

TEST_CASE("an empty batch with schemas set decodes", "[uplink][schemas]") {
  BatchEncoder encoder("gw-1", 1);
  encoder.SetSchemas({Thermo(1)});
  schema::DecodedBatch batch = RoundTrip(encoder, {});
  CHECK(batch.schema_version == 1);
  CHECK(batch.events.empty());
}

TEST_CASE("random payloads survive the columnar round trip", "[uplink][schemas]") {
  const auto seed = static_cast<uint32_t>(Catch::rngSeed());
  INFO("seed " << seed << " (rerun with --rng-seed " << seed << ")");
  std::mt19937 rng(seed);
  const std::vector<std::pair<std::string, std::vector<std::string>>> members = {
      {"\"device_id\"", {"\"d1\"", "\"tok:k:Zm9v\"", "\"a\\\"b\"", "7", "null"}},
      {"\"ts\"", {"1764000000123", "\"2026-01-01T00:00:00.250Z\"", "\"x\"", "1.5"}},
      {"\"seq\"", {"0", "-12", "9223372036854775807", "1e3", "\"3\""}},
      {"\"temp\"", {"21.5", "21.50", "0.1", "-0.00", "1e300", "3", "\"enc:1:abc\""}},
      {"\"ok\"", {"true", "false", "1"}},
      {"\"env\"", {"{\"pressure\":1}", "[1,{\"a\":\"}\"}]"}},
      {"\"rssi\"", {"-70", "\"-70\""}},
      {"\"note\"", {"\"hi, {there}\"", "[]", "{}"}},
  };
  BatchEncoder encoder("gw-1", 1);
  encoder.SetSchemas({Thermo(1), Thermo(2)});
  for (int batch = 0; batch < 50; ++batch) {
    std::vector<BufferedRecord> records;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      std::vector<size_t> order(members.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::shuffle(order.begin(), order.end(), rng);
      std::string payload = "{";
      for (size_t k = 0; k < order.size(); ++k) {
        if (rng() % 3 == 0) continue;
        const auto& [key, values] = members[order[k]];
        if (payload.size() > 1) payload += ',';
        payload += key + ":" + values[rng() % values.size()];
      }
      payload += '}';
      const uint32_t pick = rng() % 4;
      records.push_back(Record(static_cast<uint64_t>(i) + 1, pick == 0 ? "" : "thermo",
                               pick == 3 ? 2 : 1, payload));
    }
    RoundTrip(encoder, records);
  }
}

}  // namespace tidegate::uplink
