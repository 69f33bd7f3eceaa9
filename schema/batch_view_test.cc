// SPDX-License-Identifier: Apache-2.0
#include "schema/batch_view.h"

#include <simdjson.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "schema/tidegate_batch_generated.h"

namespace tidegate::schema {
namespace {

namespace wire = ::tidegate::wire;

constexpr size_t kMiB = size_t{1} << 20;

struct BuildOptions {
  const char* agent_id = "gw-01";
  const char* batch_id = "gw-01-000000000001";
  std::string payload = R"({"temp": 21.5, "user": "tok:1:AAAA"})";
  bool identifier = true;
};

std::string Build(const BuildOptions& opt = {}) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<uint8_t> sealed = {0, 1, 2, 0xFF};
  std::vector<flatbuffers::Offset<wire::SealedKey>> keys = {
      wire::CreateSealedKeyDirect(fbb, 7, &sealed)};
  std::vector<flatbuffers::Offset<wire::Event>> events = {
      wire::CreateEventDirect(fbb, 41, "site/a/dev-1/telemetry", "dev-1", 1764000000123,
                              1764000000456, 0, opt.payload.c_str()),
      wire::CreateEventDirect(fbb, 42, "site/a/dev-2/telemetry", "dev-2", -1000, 0,
                              static_cast<uint32_t>(wire::EventFlag::Late), "not json")};
  std::vector<flatbuffers::Offset<wire::Stat>> stats = {wire::CreateStatDirect(fbb, "count", 3),
                                                        wire::CreateStatDirect(fbb, "avg", 20.25)};
  std::vector<flatbuffers::Offset<wire::Measure>> measures = {
      wire::CreateMeasureDirect(fbb, "/temp", &stats)};
  std::vector<flatbuffers::Offset<wire::WindowResult>> windows = {wire::CreateWindowResultDirect(
      fbb, 43, "temp_1m", "dev-1", 1764000000000, 1764000060000, 2, true, &measures)};
  auto root = wire::CreateBatchDirect(fbb, 1, opt.agent_id, opt.batch_id, 41, 43, 1764000001000,
                                      &keys, &events, &windows);
  if (opt.identifier) {
    wire::FinishBatchBuffer(fbb, root);
  } else {
    fbb.Finish(root);
  }
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string Compress(std::string_view plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Compresses all of `in` (and ends the frame when last) through `chunk`, appending to *out.
void CompressChunk(ZSTD_CCtx* cctx, ZSTD_inBuffer& in, bool last, std::string& chunk,
                   std::string* out) {
  size_t remaining = 0;
  do {
    ZSTD_outBuffer ob{chunk.data(), chunk.size(), 0};
    remaining = ZSTD_compressStream2(cctx, &ob, &in, last ? ZSTD_e_end : ZSTD_e_continue);
    REQUIRE_FALSE(ZSTD_isError(remaining));
    out->append(chunk.data(), ob.pos);
  } while (last ? remaining != 0 : in.pos < in.size);
}

// Streams zeros through the compressor without a pledged size, so the frame header does not
// declare the content size and only the decompression bound can stop it.
std::string CompressZerosStreaming(size_t total) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  REQUIRE(cctx != nullptr);
  std::string zeros(kMiB, '\0');
  std::string out;
  std::string chunk(ZSTD_CStreamOutSize(), '\0');
  for (size_t done = 0; done < total; done += zeros.size()) {
    ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
    CompressChunk(cctx, in, done + zeros.size() >= total, chunk, &out);
  }
  ZSTD_freeCCtx(cctx);
  return out;
}

bool IsJson(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return parser.parse(text).get(root) == simdjson::SUCCESS;
}

TEST_CASE("DecodeBatch round-trips every field", "[schema]") {
  auto decoded = DecodeBatch(Build());
  REQUIRE(decoded.ok());
  const DecodedBatch& b = *decoded;
  CHECK(b.schema_version == 1);
  CHECK(b.agent_id == "gw-01");
  CHECK(b.batch_id == "gw-01-000000000001");
  CHECK(b.first_seq == 41);
  CHECK(b.last_seq == 43);
  CHECK(b.created_at == 1764000001000);
  REQUIRE(b.sealed_keys.size() == 1);
  CHECK(b.sealed_keys[0].epoch == 7);
  CHECK(b.sealed_keys[0].sealed == std::string("\x00\x01\x02\xFF", 4));
  REQUIRE(b.events.size() == 2);
  CHECK(b.events[0].seq == 41);
  CHECK(b.events[0].topic == "site/a/dev-1/telemetry");
  CHECK(b.events[0].device_id == "dev-1");
  CHECK(b.events[0].event_time == 1764000000123);
  CHECK(b.events[0].ingest_time == 1764000000456);
  CHECK(b.events[0].flags == 0);
  CHECK(b.events[0].payload == R"({"temp": 21.5, "user": "tok:1:AAAA"})");
  CHECK(b.events[1].flags == kEventFlagLate);
  CHECK(b.events[1].event_time == -1000);
  REQUIRE(b.window_results.size() == 1);
  const DecodedWindowResult& w = b.window_results[0];
  CHECK(w.seq == 43);
  CHECK(w.name == "temp_1m");
  CHECK(w.group_key == "dev-1");
  CHECK(w.window_start == 1764000000000);
  CHECK(w.window_end == 1764000060000);
  CHECK(w.revision == 2);
  CHECK(w.final);
  REQUIRE(w.measures.size() == 1);
  CHECK(w.measures[0].field == "/temp");
  REQUIRE(w.measures[0].stats.size() == 2);
  CHECK(w.measures[0].stats[0].name == "count");
  CHECK(w.measures[0].stats[0].value == 3);
  CHECK(w.measures[0].stats[1].name == "avg");
  CHECK(w.measures[0].stats[1].value == 20.25);
}

TEST_CASE("DecodeBatch accepts a buffer at a misaligned address", "[schema]") {
  std::string shifted = "x" + Build();
  auto decoded = DecodeBatch(std::string_view(shifted).substr(1));
  REQUIRE(decoded.ok());
  CHECK(decoded->events.size() == 2);
}

TEST_CASE("DecodeBatch rejects every truncation of a valid batch", "[schema]") {
  std::string full = Build();
  for (size_t len = 0; len < full.size(); ++len) {
    auto decoded = DecodeBatch(std::string_view(full).substr(0, len));
    INFO("length " << len);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("DecodeBatch rejects a wrong or missing file identifier", "[schema]") {
  SECTION("no identifier") {
    BuildOptions opt;
    opt.identifier = false;
    auto decoded = DecodeBatch(Build(opt));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == StatusCode::kCorruption);
  }
  SECTION("other identifier") {
    std::string bytes = Build();
    bytes[4] = 'X';
    auto decoded = DecodeBatch(bytes);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().message().find("TGB1") != std::string::npos);
  }
}

TEST_CASE("DecodeBatch rejects random garbage", "[schema]") {
  // Fixed unless --rng-seed names one (`--rng-seed time` explores): one commit, one verdict.
  const uint64_t seed = Catch::rngSeed() != 0 ? Catch::rngSeed() : 20261205;
  std::fprintf(stderr, "DecodeBatch garbage: seed %llu (repeat with --rng-seed %llu)\n",
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 512, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (i % 2 == 0 && bytes.size() >= 8) bytes.replace(4, 4, "TGB1");
    auto decoded = DecodeBatch(bytes);
    if (!decoded.ok()) CHECK(decoded.status().code() == StatusCode::kCorruption);
  }
  // Flipping bytes of a valid batch must never crash and never pass unverified data.
  std::string valid = Build();
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = valid;
    bytes[rng() % bytes.size()] = static_cast<char>(rng());
    auto decoded = DecodeBatch(bytes);
    if (decoded.ok()) CHECK_FALSE(decoded->batch_id.empty());
  }
}

TEST_CASE("DecodeBatch requires agent_id and batch_id", "[schema]") {
  BuildOptions opt;
  SECTION("empty agent_id") { opt.agent_id = ""; }
  SECTION("missing batch_id") { opt.batch_id = nullptr; }
  auto decoded = DecodeBatch(Build(opt));
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == StatusCode::kCorruption);
}

TEST_CASE("DecodeBatch rejects invalid UTF-8 without quoting the payload", "[schema]") {
  BuildOptions opt;
  opt.payload = "{\"secret\": \"SSN-123-45\xC3\x28\"}";
  auto decoded = DecodeBatch(Build(opt));
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == StatusCode::kCorruption);
  CHECK(decoded.status().message() == "event 0: payload is not valid UTF-8");
}

TEST_CASE("DecompressBatch round-trips and enforces its bound", "[schema]") {
  std::string plain = Build();
  std::string packed = Compress(plain);
  CHECK(LooksZstdCompressed(packed));
  SECTION("within the bound") {
    auto out = DecompressBatch(packed, plain.size());
    REQUIRE(out.ok());
    CHECK(*out == plain);
  }
  SECTION("one byte over the bound") {
    auto out = DecompressBatch(packed, plain.size() - 1);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == StatusCode::kResourceExhausted);
  }
  SECTION("concatenated frames") {
    auto out = DecompressBatch(packed + packed, 2 * plain.size());
    REQUIRE(out.ok());
    CHECK(*out == plain + plain);
  }
}

TEST_CASE("DecompressBatch stops a zstd bomb at the bound", "[schema]") {
  const size_t total = 100 * kMiB;
  SECTION("content size declared in the frame header") {
    std::string bomb = Compress(std::string(total, '\0'));
    auto out = DecompressBatch(bomb, 64 * kMiB);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == StatusCode::kResourceExhausted);
  }
  SECTION("content size not declared") {
    std::string bomb = CompressZerosStreaming(total);
    REQUIRE(ZSTD_getFrameContentSize(bomb.data(), bomb.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
    auto out = DecompressBatch(bomb, 64 * kMiB);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == StatusCode::kResourceExhausted);
  }
}

TEST_CASE("DecompressBatch rejects input that is not complete zstd", "[schema]") {
  std::string packed = Compress(Build());
  SECTION("raw flatbuffer") {
    auto out = DecompressBatch(Build(), 64 * kMiB);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == StatusCode::kCorruption);
  }
  SECTION("empty") { CHECK_FALSE(DecompressBatch("", 64 * kMiB).ok()); }
  SECTION("truncated frame") {
    auto out = DecompressBatch(std::string_view(packed).substr(0, packed.size() - 3), kMiB);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == StatusCode::kCorruption);
  }
  SECTION("trailing garbage") {
    auto out = DecompressBatch(packed + "garbage!", kMiB);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE("BatchToJson renders valid JSON with RFC 3339 times and embedded payloads", "[schema]") {
  auto decoded = DecodeBatch(Build());
  REQUIRE(decoded.ok());
  std::string json = BatchToJson(*decoded);
  CHECK(IsJson(json));
  CHECK(json.find(R"("created_at": "2025-11-24T16:00:01.000Z")") != std::string::npos);
  CHECK(json.find(R"("payload": {"temp":21.5,"user":"tok:1:AAAA"})") != std::string::npos);
  CHECK(json.find(R"("payload": "not json")") != std::string::npos);
  CHECK(json.find(R"("late": true)") != std::string::npos);
  CHECK(json.find(R"("sealed": "AAEC/w==")") != std::string::npos);
  CHECK(json.find(R"("measures": {"/temp":{"count":3,"avg":20.25}})") != std::string::npos);
}

TEST_CASE("AppendJsonPayload keeps one line and falls back to a string", "[schema]") {
  std::string out;
  AppendJsonPayload(&out, "{\n  \"a\": [1, 2],\n  \"b\": \"x y\"\n}\n");
  CHECK(out == R"({"a":[1,2],"b":"x y"})");
  out.clear();
  AppendJsonPayload(&out, "{\"a\": 1} trailing");
  CHECK(out == R"("{\"a\": 1} trailing")");
  out.clear();
  AppendJsonPayload(&out, "");
  CHECK(out == R"("")");
}

TEST_CASE("AppendJsonNumber prints integers, shortest doubles and null", "[schema]") {
  auto render = [](double v) {
    std::string out;
    AppendJsonNumber(&out, v);
    return out;
  };
  CHECK(render(3) == "3");
  CHECK(render(-0.0) == "0");
  CHECK(render(20.25) == "20.25");
  CHECK(render(0.1) == "0.1");
  CHECK(render(1e300) == "1e+300");
  CHECK(render(std::nan("")) == "null");
  CHECK(render(std::numeric_limits<double>::infinity()) == "null");
}

}  // namespace
}  // namespace tidegate::schema
