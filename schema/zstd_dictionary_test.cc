// SPDX-License-Identifier: Apache-2.0
// uplink.compression.dictionary on the receiving side: files refused, frames decompressed
// with the dictionary their header names, and a frame naming one that is not loaded refused
// with kNotFound, within the same bound as frames without a dictionary.
#include "schema/zstd_dictionary.h"

#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "schema/batch_view.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"
#include "tests/support/zstd_dictionaries.h"

namespace tidegate::schema {
namespace {

using testing::CompressWithDictionary;
using testing::TestDictionaryId;
using testing::TrainTestDictionary;

std::string Telemetry(int events) {
  std::string plain;
  for (int i = 0; i < events; ++i) {
    plain += R"({"device_id":"sensor-)" + std::to_string(i % 97) + R"(","temp":21.)" +
             std::to_string(i % 10) + R"(,"status":"ok"})" + "\n";
  }
  return plain;
}

TEST_CASE("DictionaryId reads a trained dictionary and refuses raw content", "[schema][zdict]") {
  const std::string dictionary = TrainTestDictionary();
  Result<uint32_t> id = DictionaryId(dictionary);
  REQUIRE(id.ok());
  CHECK(*id != 0);
  CHECK(*id == TestDictionaryId(dictionary));
  Result<uint32_t> raw = DictionaryId(Telemetry(50));
  REQUIRE_FALSE(raw.ok());
  CHECK(raw.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(raw.status().message(), Catch::Contains("not a zstd dictionary"));
}

TEST_CASE("ReadDictionaryFile refuses a missing, an oversized and a non-dictionary file",
          "[schema][zdict]") {
  testing::TempDir dir;
  const std::string good = dir.path() + "/good.dict";
  REQUIRE(testing::WriteFile(good, TrainTestDictionary()).ok());
  Result<DictionaryFile> read = ReadDictionaryFile(good);
  REQUIRE(read.ok());
  CHECK(read->id == TestDictionaryId(read->bytes));

  Result<DictionaryFile> missing = ReadDictionaryFile(dir.path() + "/absent.dict");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kIOError);

  // A real dictionary header followed by padding, one byte over the bound.
  std::string big = TrainTestDictionary();
  big.resize(kMaxDictionaryBytes + 1, 'x');
  REQUIRE(testing::WriteFile(dir.path() + "/big.dict", big).ok());
  Result<DictionaryFile> oversized = ReadDictionaryFile(dir.path() + "/big.dict");
  REQUIRE_FALSE(oversized.ok());
  CHECK(oversized.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(oversized.status().message(), Catch::Contains("larger than 1048576 bytes"));

  REQUIRE(testing::WriteFile(dir.path() + "/raw.dict", Telemetry(100)).ok());
  Result<DictionaryFile> raw = ReadDictionaryFile(dir.path() + "/raw.dict");
  REQUIRE_FALSE(raw.ok());
  CHECK(raw.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(raw.status().message(), Catch::Contains("raw.dict is not a zstd dictionary"));
}

TEST_CASE("DictionarySet refuses a second dictionary with the same ID and a damaged one",
          "[schema][zdict]") {
  DictionarySet set;
  const std::string a = TrainTestDictionary(1);
  const std::string b = TrainTestDictionary(2);
  REQUIRE(TestDictionaryId(a) != TestDictionaryId(b));
  REQUIRE(set.Add(a, "a.dict").ok());
  REQUIRE(set.Add(b, "b.dict").ok());
  Status again = set.Add(a, "a-copy.dict");
  CHECK_FALSE(again.ok());
  CHECK_THAT(again.message(), Catch::Contains("another dictionary has ID"));
  // The header of a dictionary with its entropy tables cut off.
  Status damaged = set.Add(std::string_view(a).substr(0, 12), "cut.dict");
  CHECK_FALSE(damaged.ok());
  CHECK(set.ids().size() == 2);
}

TEST_CASE("DecompressBatch picks the dictionary the frame names", "[schema][zdict]") {
  const std::string plain = Telemetry(200);
  const std::string a = TrainTestDictionary(1);
  const std::string b = TrainTestDictionary(2);
  const std::string frame = CompressWithDictionary(plain, b);
  REQUIRE(ZSTD_getDictID_fromFrame(frame.data(), frame.size()) == TestDictionaryId(b));

  DictionarySet both;
  REQUIRE(both.Add(a, "a").ok());
  REQUIRE(both.Add(b, "b").ok());
  Result<std::string> out = DecompressBatch(frame, 1 << 20, &both);
  REQUIRE(out.ok());
  CHECK(*out == plain);
  // Within the same bound as any frame.
  Result<std::string> capped = DecompressBatch(frame, plain.size() - 1, &both);
  REQUIRE_FALSE(capped.ok());
  CHECK(capped.status().code() == StatusCode::kResourceExhausted);
}

TEST_CASE("DecompressBatch refuses a frame whose dictionary is not loaded", "[schema][zdict]") {
  const std::string plain = Telemetry(50);
  const std::string a = TrainTestDictionary(1);
  const std::string b = TrainTestDictionary(2);
  const std::string frame = CompressWithDictionary(plain, b);
  const std::string id = std::to_string(TestDictionaryId(b));

  Result<std::string> none = DecompressBatch(frame, 1 << 20);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == StatusCode::kNotFound);
  CHECK(none.status().message() ==
        "zstd frame needs dictionary ID " + id + ", which is not loaded");

  DictionarySet other;
  REQUIRE(other.Add(a, "a").ok());
  Result<std::string> wrong = DecompressBatch(frame, 1 << 20, &other);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().code() == StatusCode::kNotFound);

  // Frames without a dictionary still decompress when dictionaries are loaded.
  std::string plain_frame(ZSTD_compressBound(plain.size()), '\0');
  plain_frame.resize(
      ZSTD_compress(plain_frame.data(), plain_frame.size(), plain.data(), plain.size(), 1));
  Result<std::string> without = DecompressBatch(plain_frame, 1 << 20, &other);
  REQUIRE(without.ok());
  CHECK(*without == plain);
}

}  // namespace
}  // namespace tidegate::schema
