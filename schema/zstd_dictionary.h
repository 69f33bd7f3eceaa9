// SPDX-License-Identifier: Apache-2.0
// zstd dictionaries for batches: the file both ends read (uplink.compression.dictionary on the
// agent, `serve --dictionary` on the collector) and the receiver's set of them by dictionary
// ID. A frame compressed with a dictionary names its ID in the frame header; that is how a
// receiver holding several dictionaries (an old and a new one during a roll-out) picks one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct ZSTD_DDict_s;

namespace tidegate::schema {

// zstd's own trainer defaults to 110 KiB; a dictionary is loaded whole into memory on every
// gateway, so anything above 1 MiB is a mistake (a batch file, a log) rather than a dictionary.
inline constexpr size_t kMaxDictionaryBytes = size_t{1} << 20;

struct DictionaryFile {
  std::string bytes;
  uint32_t id = 0;  // never 0
};

// The dictionary ID of bytes in the zstd dictionary format (magic EC 30 A4 37, as written by
// `zstd --train` and `tidegate-collector dict train`). Raw content (no magic, or ID 0) is
// refused with kInvalidArgument: frames compressed with it carry no dictionary ID, so a
// receiver could not tell which dictionary, if any, they need.
Result<uint32_t> DictionaryId(std::string_view bytes);

// Reads a dictionary file. kIOError if it cannot be read; kInvalidArgument if it is larger
// than kMaxDictionaryBytes or not in the dictionary format. Messages name the path, never
// the content.
Result<DictionaryFile> ReadDictionaryFile(const std::string& path);

// The dictionaries a receiver decompresses with, digested once (ZSTD_DDict) and shared
// read-only by every decompression. Thread-safe for Find once filled.
class DictionarySet {
 public:
  DictionarySet();
  ~DictionarySet();
  DictionarySet(DictionarySet&&) noexcept;
  DictionarySet& operator=(DictionarySet&&) noexcept;

  // Adds a dictionary. kInvalidArgument (naming `name`) if it is not a dictionary, its
  // entropy tables do not load, or another dictionary with its ID was added before.
  Status Add(std::string_view bytes, std::string_view name);
  Status AddFile(const std::string& path);

  // The digested dictionary with this ID, or null.
  const ZSTD_DDict_s* Find(uint32_t id) const;
  std::vector<uint32_t> ids() const;
  bool empty() const { return dicts_.empty(); }

 private:
  struct Free {
    void operator()(ZSTD_DDict_s* dict) const;
  };
  std::map<uint32_t, std::unique_ptr<ZSTD_DDict_s, Free>> dicts_;
};

}  // namespace tidegate::schema
