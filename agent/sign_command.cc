// SPDX-License-Identifier: Apache-2.0
#include "agent/sign_command.h"

#include <sodium.h>
#include <sys/stat.h>

#include <iostream>

#include "agent/config_loader.h"
#include "agent/config_semantics.h"
#include "remote/atomic_file.h"
#include "remote/bundle.h"

namespace tidegate::agent {
namespace {

constexpr int kExitBadUsage = 2;
// The config text plus the bundle's other members and JSON escapes stay under the cap
// only if the text leaves room; escaping can at most double the size of typical YAML.
constexpr size_t kMaxConfigBytes = remote::kMaxBundleBytes / 2;

Result<remote::SigningSecretKey> ReadSecretKey(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return InvalidArgument("cannot read key file " + path);
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument("key file " + path +
                           " is readable or writable by others; it must be mode 0600 (chmod 600 " +
                           path + ")");
  }
  auto text = remote::ReadWholeFile(path, 4096);
  if (!text.ok()) return InvalidArgument("cannot read key file " + path);
  auto key = remote::ParseSigningSecretKey(*text);
  sodium_memzero(text->data(), text->size());
  if (!key.ok()) return InvalidArgument(path + ": " + key.status().message());
  return key;
}

Result<std::string> ReadConfigText(const std::string& path) {
  auto text = remote::ReadWholeFile(path, kMaxConfigBytes);
  if (!text.ok())
    return InvalidArgument("cannot read config file " + path + ": " + text.status().message());
  auto config = ParseConfig(*text, path);
  if (!config.ok()) return config.status();
  std::string errors;
  for (const auto& problem : CheckConfigSemantics(*config, {.check_files = false})) {
    if (problem.severity == Severity::kError) errors += problem.ToString(path) + "\n";
  }
  if (!errors.empty()) {
    errors.pop_back();
    return InvalidArgument(errors);
  }
  return text;
}

}  // namespace

int ConfigSign(const SignOptions& options) {
  if (options.version < 1 || options.version > remote::kMaxBundleVersion) {
    std::cerr << "--version must be from 1 to 2^53\n";
    return kExitBadUsage;
  }
  if (!remote::IsBundleAgentId(options.agent)) {
    std::cerr << "--agent must be '*' or an agent.id (1-128 of letters, digits, '-', '_', '.')\n";
    return kExitBadUsage;
  }
  auto key = ReadSecretKey(options.key_file);
  if (!key.ok()) {
    std::cerr << key.status().message() << "\n";
    return kExitBadUsage;
  }
  auto text = ReadConfigText(options.config_file);
  if (!text.ok()) {
    std::cerr << text.status().message() << "\n";
    return kExitBadUsage;
  }
  const remote::Bundle bundle =
      remote::SignBundle(options.agent, options.version, std::move(text).value(), *key);
  sodium_memzero(key->data(), key->size());
  const std::string json = remote::SerializeBundle(bundle);
  if (json.size() > remote::kMaxBundleBytes) {
    std::cerr << "the bundle would be larger than 1 MiB, which agents refuse\n";
    return kExitBadUsage;
  }
  std::cout << json << "\n";
  return std::cout.good() ? 0 : 1;
}

}  // namespace tidegate::agent
