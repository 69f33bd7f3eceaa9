// SPDX-License-Identifier: Apache-2.0
#include "collector/dict_command.h"

#include <fmt/format.h>
#include <zdict.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "collector/exit_codes.h"
#include "collector/intake/batch_intake.h"
#include "schema/batch_view.h"
#include "schema/zstd_dictionary.h"

namespace tidegate::collector {
namespace {

// Fewer samples than this and ZDICT's result is noise (it refuses below 5 anyway).
constexpr size_t kMinSamples = 10;

struct Samples {
  std::string bytes;          // every sample, one after the other
  std::vector<size_t> sizes;  // of each sample, in order
  size_t skipped = 0;         // files that are not batches, or too large
};

// The files to read: each input file, and the regular files of each input directory in name
// order (a --keep-raw directory), so the same inputs always train the same dictionary.
Result<std::vector<std::string>> ListInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(input, ec)) {
      files.push_back(input);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& entry : std::filesystem::directory_iterator(input, ec)) {
      if (entry.is_regular_file(ec)) in_dir.push_back(entry.path().string());
    }
    if (ec) return IOError(fmt::format("cannot list {}: {}", input, ec.message()));
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

Result<std::string> ReadBounded(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return IOError(fmt::format("cannot read {}: {}", path, std::generic_category().message(errno)));
  std::string bytes(max_bytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) return IOError(fmt::format("cannot read {}", path));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// A received body as its uncompressed batch, or an error saying why it is no sample.
Result<std::string> BatchOf(const std::string& path, const schema::DictionarySet& dictionaries) {
  TG_ASSIGN_OR_RETURN(std::string body, ReadBounded(path, kDefaultMaxBodyBytes));
  if (body.size() > kDefaultMaxBodyBytes) return ResourceExhausted("larger than a batch body");
  std::string plain = std::move(body);
  if (schema::LooksZstdCompressed(plain)) {
    TG_ASSIGN_OR_RETURN(
        plain, schema::DecompressBatch(plain, kDefaultMaxDecompressedBytes, &dictionaries));
  }
  TG_RETURN_IF_ERROR(schema::DecodeBatch(plain).status());
  return plain;
}

Result<Samples> ReadSamples(const std::vector<std::string>& files,
                            const schema::DictionarySet& dictionaries, std::FILE* err) {
  Samples samples;
  for (const std::string& file : files) {
    Result<std::string> batch = BatchOf(file, dictionaries);
    if (!batch.ok() && batch.status().code() == StatusCode::kIOError) return batch.status();
    if (!batch.ok()) {
      fmt::print(err, "tidegate-collector: {}: left out: {}\n", file, batch.status().message());
      ++samples.skipped;
      continue;
    }
    if (samples.bytes.size() + batch->size() > kMaxTrainingBytes) {
      fmt::print(err, "tidegate-collector: {} MiB of samples read; the other files are left out\n",
                 kMaxTrainingBytes >> 20);
      break;
    }
    samples.bytes += *batch;
    samples.sizes.push_back(batch->size());
  }
  return samples;
}

Status WriteAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return IOError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ec(errno, std::generic_category());
    std::remove(tmp.c_str());
    return IOError(fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message()));
  }
  return Status::Ok();
}

}  // namespace

int RunDictTrain(const DictTrainOptions& options, std::FILE* out, std::FILE* err) {
  if (options.dictionary_bytes < 1024 || options.dictionary_bytes > schema::kMaxDictionaryBytes) {
    fmt::print(err, "tidegate-collector: --size must be from 1KiB to {} bytes\n",
               schema::kMaxDictionaryBytes);
    return kExitUsage;
  }
  schema::DictionarySet dictionaries;
  for (const std::string& path : options.dictionaries) {
    if (Status added = dictionaries.AddFile(path); !added.ok()) {
      fmt::print(err, "tidegate-collector: --dictionary {}\n", added.message());
      return kExitUsage;
    }
  }
  Result<std::vector<std::string>> files = ListInputs(options.inputs);
  Result<Samples> samples =
      files.ok() ? ReadSamples(*files, dictionaries, err) : Result<Samples>(files.status());
  if (!samples.ok()) {
    fmt::print(err, "tidegate-collector: {}\n", samples.status().message());
    return kExitFailure;
  }
  if (samples->sizes.size() < kMinSamples) {
    fmt::print(err,
               "tidegate-collector: {} batches read ({} left out); at least {} are needed "
               "(collect them with serve --keep-raw DIR)\n",
               samples->sizes.size(), samples->skipped, kMinSamples);
    return kExitFailure;
  }
  std::string dictionary(options.dictionary_bytes, '\0');
  const size_t n =
      ZDICT_trainFromBuffer(dictionary.data(), dictionary.size(), samples->bytes.data(),
                            samples->sizes.data(), static_cast<unsigned>(samples->sizes.size()));
  if (ZDICT_isError(n)) {
    fmt::print(err, "tidegate-collector: training failed: {} (more or larger batches help)\n",
               ZDICT_getErrorName(n));
    return kExitFailure;
  }
  dictionary.resize(n);
  if (Status written = WriteAtomically(options.out, dictionary); !written.ok()) {
    fmt::print(err, "tidegate-collector: {}\n", written.message());
    return kExitFailure;
  }
  fmt::print(out, "{}: dictionary ID {}, {} bytes, trained on {} batches ({} bytes)\n", options.out,
             ZDICT_getDictID(dictionary.data(), dictionary.size()), n, samples->sizes.size(),
             samples->bytes.size());
  return kExitOk;
}

}  // namespace tidegate::collector
