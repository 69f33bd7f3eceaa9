// SPDX-License-Identifier: Apache-2.0
#include "schema/zstd_dictionary.h"

#include <fmt/format.h>
#include <zdict.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

namespace tidegate::schema {

Result<uint32_t> DictionaryId(std::string_view bytes) {
  const unsigned id = ZDICT_getDictID(bytes.data(), bytes.size());
  if (id == 0) {
    return InvalidArgument(
        "is not a zstd dictionary (train one with `tidegate-collector dict train` or "
        "`zstd --train`; raw content is not accepted, its frames would carry no dictionary ID)");
  }
  return static_cast<uint32_t>(id);
}

Result<DictionaryFile> ReadDictionaryFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file)
    return IOError(fmt::format("cannot read {}: {}", path, std::generic_category().message(errno)));
  DictionaryFile out;
  // One byte past the bound tells a file of exactly the bound from a larger one.
  out.bytes.resize(kMaxDictionaryBytes + 1);
  const size_t n = std::fread(out.bytes.data(), 1, out.bytes.size(), file.get());
  if (std::ferror(file.get())) {
    return IOError(fmt::format("cannot read {}: {}", path, std::generic_category().message(errno)));
  }
  if (n > kMaxDictionaryBytes) {
    return InvalidArgument(
        fmt::format("{} is larger than {} bytes: not a dictionary", path, kMaxDictionaryBytes));
  }
  out.bytes.resize(n);
  Result<uint32_t> id = DictionaryId(out.bytes);
  if (!id.ok()) return InvalidArgument(path + " " + id.status().message());
  out.id = *id;
  return out;
}

DictionarySet::DictionarySet() = default;
DictionarySet::~DictionarySet() = default;
DictionarySet::DictionarySet(DictionarySet&&) noexcept = default;
DictionarySet& DictionarySet::operator=(DictionarySet&&) noexcept = default;

void DictionarySet::Free::operator()(ZSTD_DDict_s* dict) const { ZSTD_freeDDict(dict); }

Status DictionarySet::Add(std::string_view bytes, std::string_view name) {
  Result<uint32_t> id = DictionaryId(bytes);
  if (!id.ok()) return InvalidArgument(fmt::format("{} {}", name, id.status().message()));
  if (dicts_.count(*id) != 0) {
    return InvalidArgument(fmt::format("{}: another dictionary has ID {}", name, *id));
  }
  // Copies the content: the caller's bytes may go away.
  std::unique_ptr<ZSTD_DDict_s, Free> dict(ZSTD_createDDict(bytes.data(), bytes.size()));
  if (!dict) {
    return InvalidArgument(fmt::format("{}: zstd cannot load this dictionary (damaged?)", name));
  }
  dicts_.emplace(*id, std::move(dict));
  return Status::Ok();
}

Status DictionarySet::AddFile(const std::string& path) {
  TG_ASSIGN_OR_RETURN(DictionaryFile file, ReadDictionaryFile(path));
  return Add(file.bytes, path);
}

const ZSTD_DDict_s* DictionarySet::Find(uint32_t id) const {
  auto it = dicts_.find(id);
  return it == dicts_.end() ? nullptr : it->second.get();
}

std::vector<uint32_t> DictionarySet::ids() const {
  std::vector<uint32_t> out;
  out.reserve(dicts_.size());
  for (const auto& entry : dicts_) out.push_back(entry.first);
  return out;
}

}  // namespace tidegate::schema
