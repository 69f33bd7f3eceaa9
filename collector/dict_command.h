// SPDX-License-Identifier: Apache-2.0
// `tidegate-collector dict train`: trains a zstd dictionary for uplink.compression.dictionary
// from batches as they were received. The samples are what an operator already has on the
// receiving side: the bodies `serve --keep-raw DIR` keeps (DIR/<batch_id>.tgb.zst, or plain
// FlatBuffer files), decompressed with the same bound as `serve` and checked to be batches.
// The result goes to the gateways (uplink.compression.dictionary) and to every collector
// (`serve --dictionary`). Single-threaded.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace tidegate::collector {

// zstd's own default (`zstd --train`): room for the repeated structure of batches.
inline constexpr size_t kDefaultDictionaryBytes = 112640;
// Samples read at most (ZDICT keeps them all in memory); later files are left out.
inline constexpr size_t kMaxTrainingBytes = size_t{256} << 20;

struct DictTrainOptions {
  std::string out;  // the dictionary file written (atomically)
  size_t dictionary_bytes = kDefaultDictionaryBytes;
  std::vector<std::string> inputs;        // files, or directories whose files are read
  std::vector<std::string> dictionaries;  // to read bodies compressed with an older one
};

// Writes one summary line to out (file, dictionary ID, size, samples used) and errors to err.
// Returns 0; 1 for unreadable inputs, too few usable samples, a training error or a write
// failure; 2 for a bad --size or --dictionary.
int RunDictTrain(const DictTrainOptions& options, std::FILE* out, std::FILE* err);

}  // namespace tidegate::collector
