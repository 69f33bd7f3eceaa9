// SPDX-License-Identifier: Apache-2.0
#include "uplink/batch_encoder.h"

#include <zstd.h>

#include <catch2/catch.hpp>

#include "common/window_result.h"
#include "schema/batch_view.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"
#include "tests/support/zstd_dictionaries.h"

namespace {

using tidegate::buffer::BatchRange;
using tidegate::buffer::BufferedRecord;
using tidegate::uplink::BatchEncoder;

std::vector<BufferedRecord> MakeRecords(int n) {
  std::vector<BufferedRecord> records;
  for (int i = 0; i < n; ++i) {
    BufferedRecord& r = records.emplace_back();
    r.seq = 100 + static_cast<uint64_t>(i);
    r.event.topic = "devices/dev-" + std::to_string(i % 4) + "/telemetry";
    r.event.device_id = "dev-" + std::to_string(i % 4);
    r.event.event_time_ms = 1'764'000'000'000 + i;
    r.event.ingest_time_ms = 1'764'000'000'500 + i;
    r.event.flags = static_cast<uint32_t>(i % 2);
    r.event.payload = R"({"temp":)" + std::to_string(20 + i % 7) + R"(,"ok":true})";
  }
  return records;
}

BatchRange RangeFor(const std::vector<BufferedRecord>& records) {
  return BatchRange{
      .batch_id = tidegate::uplink::MakeBatchId("abc", records.front().seq, records.back().seq),
      .priority = 5,
      .first_seq = records.front().seq,
      .last_seq = records.back().seq,
      .count = static_cast<uint32_t>(records.size()),
      .created_at_ms = 1'764'000'001'000};
}

}  // namespace

// Encoded batches wait in the send queue (several per uplink): each must hold its compressed
// bytes, not a buffer of ZSTD_compressBound of the uncompressed batch.
TEST_CASE("an encoded batch holds only its compressed bytes", "[uplink]") {
  auto records = MakeRecords(1'000);
  BatchEncoder encoder("gw-7", 1);
  for (int round = 0; round < 2; ++round) {  // the second reuses the encoder's buffers
    auto encoded = encoder.Encode(RangeFor(records), records);
    REQUIRE(encoded.ok());
    INFO("body " << encoded->body.size() << " bytes of " << encoded->uncompressed_bytes);
    REQUIRE(encoded->body.size() < encoded->uncompressed_bytes / 4);
    CHECK(encoded->body.capacity() < encoded->uncompressed_bytes / 4);
    auto raw = tidegate::schema::DecompressBatch(encoded->body, 1 << 24);
    REQUIRE(raw.ok());
    CHECK(raw->size() == encoded->uncompressed_bytes);
  }
}

TEST_CASE("an encoded batch decodes to the same events", "[uplink]") {
  auto records = MakeRecords(50);
  BatchEncoder encoder("gw-7", 1);
  auto encoded = encoder.Encode(RangeFor(records), records);
  REQUIRE(encoded.ok());
  CHECK(encoded->batch_id == "abc-100-149");
  CHECK(encoded->events == 50);
  REQUIRE(tidegate::schema::LooksZstdCompressed(encoded->body));
  auto raw = tidegate::schema::DecompressBatch(encoded->body, 1 << 24);
  REQUIRE(raw.ok());
  CHECK(raw->size() == encoded->uncompressed_bytes);
  auto batch = tidegate::schema::DecodeBatch(*raw);
  REQUIRE(batch.ok());
  CHECK(batch->schema_version == 1);
  CHECK(batch->agent_id == "gw-7");
  CHECK(batch->batch_id == "abc-100-149");
  CHECK(batch->first_seq == 100);
  CHECK(batch->last_seq == 149);
  CHECK(batch->created_at == 1'764'000'001'000);
  REQUIRE(batch->events.size() == 50);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& got = batch->events[i];
    const auto& want = records[i];
    CHECK(got.seq == want.seq);
    CHECK(got.topic == want.event.topic);
    CHECK(got.device_id == want.event.device_id);
    CHECK(got.event_time == want.event.event_time_ms);
    CHECK(got.ingest_time == want.event.ingest_time_ms);
    CHECK(got.flags == want.event.flags);
    CHECK(got.payload == want.event.payload);
  }
}

TEST_CASE("the same records encode to the same bytes", "[uplink]") {
  auto records = MakeRecords(20);
  BatchEncoder a("gw", 1), b("gw", 1);
  auto first = a.Encode(RangeFor(records), records);
  (void)a.Encode(RangeFor(MakeRecords(3)), MakeRecords(3));  // reuse must not leak state
  auto second = a.Encode(RangeFor(records), records);
  auto third = b.Encode(RangeFor(records), records);
  REQUIRE((first.ok() && second.ok() && third.ok()));
  CHECK(first->body == second->body);
  CHECK(first->body == third->body);
}

TEST_CASE("zstd shrinks repetitive JSON events several times", "[uplink]") {
  auto records = MakeRecords(1000);
  BatchEncoder encoder("gw", 1);
  auto encoded = encoder.Encode(RangeFor(records), records);
  REQUIRE(encoded.ok());
  CHECK(encoded->body.size() * 4 < encoded->uncompressed_bytes);
}

TEST_CASE("sealed data keys travel in the batch", "[uplink]") {
  auto records = MakeRecords(3);
  records[1].event.key_epoch = 9;
  BatchEncoder encoder("gw", 1);
  std::vector<tidegate::buffer::SealedKeyEpoch> keys = {
      {.epoch = 9, .sealed = std::string("\x01\x02sealed", 8), .created_at_ms = 0}};
  auto encoded = encoder.Encode(RangeFor(records), records, keys);
  REQUIRE(encoded.ok());
  auto batch =
      tidegate::schema::DecodeBatch(*tidegate::schema::DecompressBatch(encoded->body, 1 << 20));
  REQUIRE(batch.ok());
  REQUIRE(batch->sealed_keys.size() == 1);
  CHECK(batch->sealed_keys[0].epoch == 9);
  CHECK(batch->sealed_keys[0].sealed == std::string("\x01\x02sealed", 8));
}

TEST_CASE("window result records encode as typed wire window results", "[uplink]") {
  auto records = MakeRecords(2);
  tidegate::WindowResult w;
  w.name = "telemetry_1m";
  w.group_key = "dev-1";
  w.window_start = 1'764'000'000'000;
  w.window_end = 1'764'000'060'000;
  w.revision = 2;
  w.final = true;
  w.measures = {{"/temp", {{"count", 3}, {"p95", 22.5}}}};
  BufferedRecord& r = records.emplace_back();
  r.seq = 102;
  r.event.kind = tidegate::RecordKind::kWindowResult;
  r.event.payload = tidegate::EncodeWindowResult(w);
  BatchEncoder encoder("gw-7", 1);
  auto encoded = encoder.Encode(RangeFor(records), records);
  REQUIRE(encoded.ok());
  CHECK(encoded->events == 2);
  CHECK(encoded->window_results == 1);
  auto batch = tidegate::schema::DecodeBatch(encoder.last_flatbuffer());
  REQUIRE(batch.ok());
  REQUIRE(batch->window_results.size() == 1);
  const auto& got = batch->window_results[0];
  CHECK(got.seq == 102);
  CHECK(got.name == "telemetry_1m");
  CHECK(got.group_key == "dev-1");
  CHECK(got.window_start == w.window_start);
  CHECK(got.window_end == w.window_end);
  CHECK(got.revision == 2);
  CHECK(got.final);
  REQUIRE(got.measures.size() == 1);
  CHECK(got.measures[0].field == "/temp");
  REQUIRE(got.measures[0].stats.size() == 2);
  CHECK(got.measures[0].stats[1].name == "p95");
  CHECK(got.measures[0].stats[1].value == 22.5);

  // A damaged record is left out and counted; it must not block the uplink.
  records.back().event.payload.resize(10);
  auto damaged = encoder.Encode(RangeFor(records), records);
  REQUIRE(damaged.ok());
  CHECK(damaged->events == 2);
  CHECK(damaged->window_results == 0);
  CHECK(damaged->corrupt_records == 1);
}

// uplink.compression.dictionary: every frame names the dictionary's ID (how the receiver picks
// its copy) and decompresses, with that dictionary only, to the batch that was encoded.
TEST_CASE("a batch compressed with a dictionary names it and decodes with it", "[uplink][zdict]") {
  const std::string bytes = tidegate::testing::TrainTestDictionary();
  auto dictionary = tidegate::uplink::CompressionDictionary::FromBytes(bytes, 1, "test.dict");
  REQUIRE(dictionary.ok());
  CHECK((*dictionary)->id() == tidegate::testing::TestDictionaryId(bytes));
  auto records = MakeRecords(20);
  BatchEncoder plain_encoder("gw-7", 1);
  BatchEncoder encoder("gw-7", 1, *dictionary);
  auto plain = plain_encoder.Encode(RangeFor(records), records);
  auto encoded = encoder.Encode(RangeFor(records), records);
  REQUIRE(plain.ok());
  REQUIRE(encoded.ok());
  CHECK(ZSTD_getDictID_fromFrame(plain->body.data(), plain->body.size()) == 0);
  CHECK(ZSTD_getDictID_fromFrame(encoded->body.data(), encoded->body.size()) ==
        (*dictionary)->id());

  tidegate::schema::DictionarySet set;
  REQUIRE(set.Add(bytes, "test.dict").ok());
  auto raw = tidegate::schema::DecompressBatch(encoded->body, 1 << 24, &set);
  REQUIRE(raw.ok());
  CHECK(*raw == encoder.last_flatbuffer());
  auto missing = tidegate::schema::DecompressBatch(encoded->body, 1 << 24);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == tidegate::StatusCode::kNotFound);
}

TEST_CASE("LoadUplinkDictionary names the key and refuses what is not a dictionary",
          "[uplink][zdict]") {
  tidegate::testing::TempDir dir;
  tidegate::UplinkSection uplink;
  auto none = tidegate::uplink::LoadUplinkDictionary(uplink);
  REQUIRE(none.ok());
  CHECK(*none == nullptr);

  uplink.compression_dictionary = dir.File("events.json");
  REQUIRE(tidegate::testing::WriteFile(uplink.compression_dictionary, R"({"temp":21})").ok());
  auto raw = tidegate::uplink::LoadUplinkDictionary(uplink);
  REQUIRE_FALSE(raw.ok());
  CHECK(raw.status().code() == tidegate::StatusCode::kInvalidArgument);
  CHECK_THAT(raw.status().message(), Catch::StartsWith("uplink.compression.dictionary: ") &&
                                         Catch::Contains("is not a zstd dictionary"));

  uplink.compression_dictionary = dir.File("good.dict");
  REQUIRE(tidegate::testing::WriteFile(uplink.compression_dictionary,
                                       tidegate::testing::TrainTestDictionary())
              .ok());
  auto good = tidegate::uplink::LoadUplinkDictionary(uplink);
  REQUIRE(good.ok());
  REQUIRE(*good != nullptr);
  CHECK((*good)->size() > 0);
}
