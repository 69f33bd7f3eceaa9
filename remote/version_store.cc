// SPDX-License-Identifier: Apache-2.0
#include "remote/version_store.h"

#include <charconv>

#include "remote/atomic_file.h"
#include "remote/bundle.h"

namespace tidegate::remote {

Result<VersionStore> VersionStore::Open(const std::string& state_dir) {
  std::string path = state_dir + "/remote_config.version";
  auto text = ReadWholeFile(path, 64);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    return VersionStore(std::move(path), 0);
  }
  if (!text.ok()) return text.status();
  std::string_view digits = *text;
  if (!digits.empty() && digits.back() == '\n') digits.remove_suffix(1);
  int64_t version = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      version < 1 || version > kMaxBundleVersion) {
    return Corruption(path + " does not hold a config version (1 to 2^53)");
  }
  return VersionStore(std::move(path), version);
}

Status VersionStore::Record(int64_t version) {
  TG_RETURN_IF_ERROR(WriteFileAtomically(path_, std::to_string(version) + "\n", 0600));
  highest_ = version;
  return Status::Ok();
}

}  // namespace tidegate::remote
