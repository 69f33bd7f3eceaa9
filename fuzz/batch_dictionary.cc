// SPDX-License-Identifier: Apache-2.0
#include "fuzz/batch_dictionary.h"

#include "tests/support/zstd_dictionaries.h"

namespace tidegate::fuzz {

const std::string& BatchDictionary() {
  // The tests' dictionary (deterministic ZDICT training), small: it is loaded per process.
  static const std::string kDictionary = testing::TrainTestDictionary(0, 4096);
  return kDictionary;
}

}  // namespace tidegate::fuzz
