// SPDX-License-Identifier: Apache-2.0
#include "tests/support/zstd_dictionaries.h"

#include <zdict.h>
#include <zstd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace tidegate::testing {

std::string TrainTestDictionary(uint32_t variant, size_t max_bytes) {
  std::string samples;
  std::vector<size_t> sizes;
  for (uint32_t i = 0; i < 400; ++i) {
    const size_t before = samples.size();
    for (uint32_t j = 0; j < 8; ++j) {
      const uint32_t n = i * 8 + j;
      samples += "{\"device_id\":\"sensor-" + std::to_string(n % 97) +
                 "\",\"variant\":" + std::to_string(variant) +
                 ",\"temp\":" + std::to_string(15 + n % 13) + "." + std::to_string(n % 10) +
                 ",\"humidity\":" + std::to_string(30 + n % 41) +
                 ",\"battery\":" + std::to_string(n % 101) + ",\"status\":\"" +
                 (n % 3 == 0 ? "ok" : "degraded") + "\",\"site\":\"plant-" +
                 std::to_string(variant) + "\"}\n";
    }
    sizes.push_back(samples.size() - before);
  }
  std::string dictionary(max_bytes, '\0');
  const size_t n = ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), samples.data(),
                                         sizes.data(), static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(n)) std::abort();  // only with a broken libzstd
  dictionary.resize(n);
  return dictionary;
}

uint32_t TestDictionaryId(std::string_view dictionary) {
  return ZDICT_getDictID(dictionary.data(), dictionary.size());
}

std::string CompressWithDictionary(std::string_view plain, std::string_view dictionary) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  const size_t n = ZSTD_compress_usingDict(cctx, out.data(), out.size(), plain.data(), plain.size(),
                                           dictionary.data(), dictionary.size(), 3);
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) std::abort();  // only with a broken libzstd
  out.resize(n);
  return out;
}

uint32_t FrameDictionaryId(std::string_view frame) {
  return ZSTD_getDictID_fromFrame(frame.data(), frame.size());
}

}  // namespace tidegate::testing
