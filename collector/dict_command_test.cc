// SPDX-License-Identifier: Apache-2.0
#include "collector/dict_command.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "collector/exit_codes.h"
#include "collector/test_util.h"
#include "schema/batch_view.h"
#include "schema/zstd_dictionary.h"

namespace tidegate::collector {
namespace {

using testing::BuildBatch;
using testing::ScratchDir;
using testing::TestBatch;
using testing::Zstd;

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  REQUIRE(out.good());
}

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  return text;
}

// A --keep-raw directory: compressed batch bodies as received.
void KeepRawBatches(const std::string& dir, int batches) {
  for (int i = 0; i < batches; ++i) {
    TestBatch spec;
    spec.batch_id = "gw-01-" + std::to_string(i);
    spec.first_seq = 1 + static_cast<uint64_t>(i) * 40;
    spec.events = 40;
    spec.device_id = "dev-" + std::to_string(i % 7);
    Write(dir + "/" + spec.batch_id + ".tgb.zst", Zstd(BuildBatch(spec)));
  }
}

TEST_CASE("dict train writes a dictionary from a --keep-raw directory", "[collector][zdict]") {
  ScratchDir dir;
  const std::string raw = dir.File("raw");
  REQUIRE(std::filesystem::create_directory(raw));
  KeepRawBatches(raw, 40);
  Write(raw + "/notes.txt", "not a batch");
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  DictTrainOptions options;
  options.out = dir.File("batches.dict");
  options.dictionary_bytes = 4096;
  options.inputs = {raw};
  REQUIRE(RunDictTrain(options, out, err) == kExitOk);
  const std::string said = ReadAll(out);
  CHECK_THAT(said, Catch::Contains("trained on 40 batches"));
  CHECK_THAT(ReadAll(err), Catch::Contains("notes.txt: left out"));
  Result<schema::DictionaryFile> dict = schema::ReadDictionaryFile(options.out);
  REQUIRE(dict.ok());
  CHECK(dict->bytes.size() <= 4096);
  CHECK_THAT(said, Catch::Contains("dictionary ID " + std::to_string(dict->id)));
  std::fclose(out);
  std::fclose(err);
}

TEST_CASE("dict train refuses too few batches and a size out of range", "[collector][zdict]") {
  ScratchDir dir;
  KeepRawBatches(dir.path(), 3);
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  DictTrainOptions options;
  options.out = dir.File("batches.dict");
  options.inputs = {dir.path()};
  CHECK(RunDictTrain(options, out, err) == kExitFailure);
  CHECK_THAT(ReadAll(err), Catch::Contains("3 batches read (0 left out); at least 10"));
  options.dictionary_bytes = schema::kMaxDictionaryBytes + 1;
  CHECK(RunDictTrain(options, out, err) == kExitUsage);
  CHECK_FALSE(std::filesystem::exists(options.out));
  std::fclose(out);
  std::fclose(err);
}

}  // namespace
}  // namespace tidegate::collector
