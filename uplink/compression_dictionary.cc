// SPDX-License-Identifier: Apache-2.0
#include "uplink/compression_dictionary.h"

#include <fmt/format.h>
#include <zstd.h>

#include "schema/zstd_dictionary.h"

namespace tidegate::uplink {

Result<std::shared_ptr<const CompressionDictionary>> CompressionDictionary::FromBytes(
    std::string_view bytes, int level, std::string_view name) {
  Result<uint32_t> id = schema::DictionaryId(bytes);
  if (!id.ok()) return InvalidArgument(fmt::format("{} {}", name, id.status().message()));
  // Copies the content: bytes may go away.
  ZSTD_CDict* cdict = ZSTD_createCDict(bytes.data(), bytes.size(), level);
  if (cdict == nullptr) {
    return InvalidArgument(fmt::format("{}: zstd cannot load this dictionary (damaged?)", name));
  }
  return std::shared_ptr<const CompressionDictionary>(
      new CompressionDictionary(cdict, *id, bytes.size()));
}

Result<std::shared_ptr<const CompressionDictionary>> CompressionDictionary::Load(
    const std::string& path, int level) {
  TG_ASSIGN_OR_RETURN(schema::DictionaryFile file, schema::ReadDictionaryFile(path));
  return FromBytes(file.bytes, level, path);
}

CompressionDictionary::~CompressionDictionary() { ZSTD_freeCDict(cdict_); }

Result<std::shared_ptr<const CompressionDictionary>> LoadUplinkDictionary(
    const UplinkSection& uplink) {
  if (uplink.compression_dictionary.empty()) return std::shared_ptr<const CompressionDictionary>();
  auto dictionary =
      CompressionDictionary::Load(uplink.compression_dictionary, uplink.compression_level);
  if (!dictionary.ok()) {
    return Status(dictionary.status().code(),
                  "uplink.compression.dictionary: " + dictionary.status().message());
  }
  return dictionary;
}

}  // namespace tidegate::uplink
