// SPDX-License-Identifier: Apache-2.0
#include "fuzz/batch_dictionary.h"

#include <zdict.h>

#include <cstdlib>
#include <vector>

namespace tidegate::fuzz {
namespace {

std::string Train() {
  std::string samples;
  std::vector<size_t> sizes;
  for (int i = 0; i < 200; ++i) {
    const size_t before = samples.size();
    for (int j = 0; j < 6; ++j) {
      const int n = i * 6 + j;
      samples += R"(gw-seed"seed-)" + std::to_string(n) + R"("devices/dev-)" +
                 std::to_string(n % 9) + R"(/telemetry"{"temp":)" + std::to_string(15 + n % 13) +
                 R"(,"humidity":)" + std::to_string(30 + n % 41) + R"(,"status":"ok"})";
    }
    sizes.push_back(samples.size() - before);
  }
  std::string dictionary(4096, '\0');
  // Single-threaded ZDICT: the same samples always give the same dictionary.
  const size_t n = ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), samples.data(),
                                         sizes.data(), static_cast<unsigned>(sizes.size()));
  if (ZDICT_isError(n)) std::abort();  // only with a broken libzstd
  dictionary.resize(n);
  return dictionary;
}

}  // namespace

const std::string& BatchDictionary() {
  static const std::string kDictionary = Train();
  return kDictionary;
}

}  // namespace tidegate::fuzz
