// SPDX-License-Identifier: Apache-2.0
// CompressionDictionary: uplink.compression.dictionary on the sending side. The file is read
// and digested once (a ZSTD_CDict at uplink.compression.level) when the agent starts and when a
// config apply changes the uplink section; every batch encoder then shares it read-only.
// Frames made with it carry its dictionary ID, which the receiver uses to pick its copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

struct ZSTD_CDict_s;

namespace tidegate::uplink {

class CompressionDictionary {
 public:
  // The dictionary in `bytes` (zstd dictionary format, see schema/zstd_dictionary.h) digested
  // at `level`. kInvalidArgument naming `name` if it is not a dictionary or does not load.
  static Result<std::shared_ptr<const CompressionDictionary>> FromBytes(std::string_view bytes,
                                                                        int level,
                                                                        std::string_view name);
  // Reads `path` (at most schema::kMaxDictionaryBytes) and digests it.
  static Result<std::shared_ptr<const CompressionDictionary>> Load(const std::string& path,
                                                                   int level);

  ~CompressionDictionary();
  CompressionDictionary(const CompressionDictionary&) = delete;
  CompressionDictionary& operator=(const CompressionDictionary&) = delete;

  uint32_t id() const { return id_; }
  size_t size() const { return size_; }
  const ZSTD_CDict_s* cdict() const { return cdict_; }

 private:
  CompressionDictionary(ZSTD_CDict_s* cdict, uint32_t id, size_t size)
      : cdict_(cdict), id_(id), size_(size) {}
  ZSTD_CDict_s* const cdict_;
  const uint32_t id_;
  const size_t size_;
};

// The dictionary uplink.compression.dictionary names, at uplink.compression.level; null if
// the key is not set. Errors name the key.
Result<std::shared_ptr<const CompressionDictionary>> LoadUplinkDictionary(
    const UplinkSection& uplink);

}  // namespace tidegate::uplink
