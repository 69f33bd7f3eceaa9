// SPDX-License-Identifier: Apache-2.0
// Fuzzes the receiving end of the wire format (schema/batch_view.h): what the collector and
// `tidegate inspect` do with a request body. The first input byte picks the path: even, the
// rest is a zstd body for DecompressBatch, with one dictionary loaded (fuzz/batch_dictionary.h,
// as `serve --dictionary`), and then DecodeBatch (as the collector does); odd, the rest is the
// FlatBuffer itself for DecodeBatch. Invariants: no crash, no read past the input, no
// decompression past the limit; a refused body is kCorruption (kResourceExhausted for a zip
// bomb, kNotFound for a frame naming another dictionary); an accepted batch renders as valid
// JSON.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/batch_dictionary.h"
#include "fuzz/fuzz_check.h"
#include "schema/batch_view.h"

namespace {

constexpr size_t kMaxBatchBytes = 1 << 20;  // far above any seed, small enough to stay fast

void CheckDecoded(std::string_view flatbuffer) {
  auto batch = tidegate::schema::DecodeBatch(flatbuffer);
  if (!batch.ok()) {
    TG_FUZZ_CHECK(batch.status().code() == tidegate::StatusCode::kCorruption);
    return;
  }
  TG_FUZZ_CHECK(!batch->agent_id.empty() && !batch->batch_id.empty());
  const std::string json = tidegate::schema::BatchToJson(*batch);
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  TG_FUZZ_CHECK(parser.parse(json).get(doc) == simdjson::SUCCESS);
}

const tidegate::schema::DictionarySet& Dictionaries() {
  static const tidegate::schema::DictionarySet kSet = [] {
    tidegate::schema::DictionarySet s;
    TG_FUZZ_CHECK(s.Add(tidegate::fuzz::BatchDictionary(), "fuzz").ok());
    return s;
  }();
  return kSet;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    CheckDecoded(rest);
    return 0;
  }
  auto plain = tidegate::schema::DecompressBatch(rest, kMaxBatchBytes, &Dictionaries());
  if (!plain.ok()) {
    const auto code = plain.status().code();
    TG_FUZZ_CHECK(code == tidegate::StatusCode::kCorruption ||
                  code == tidegate::StatusCode::kResourceExhausted ||
                  code == tidegate::StatusCode::kNotFound);
    return 0;
  }
  TG_FUZZ_CHECK(plain->size() <= kMaxBatchBytes);
  CheckDecoded(*plain);
  return 0;
}
