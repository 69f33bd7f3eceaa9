// SPDX-License-Identifier: Apache-2.0
#include "agent/effective_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <string>

namespace tidegate::agent {
namespace {

constexpr size_t kMaxYamlBytes = 1 << 20;
constexpr int kMaxDepth = 64;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool SecretKey(std::string_view key) {
  static constexpr std::array<std::string_view, 6> kNames = {"password",   "secret",      "token",
                                                             "passphrase", "credentials", "key"};
  static constexpr std::array<std::string_view, 7> kSuffixes = {
      "_file", "_key", "_dir", "_path", "_password", "_secret", "_token"};
  for (std::string_view n : kNames) {
    if (key == n) return true;
  }
  for (std::string_view s : kSuffixes) {
    if (EndsWith(key, s)) return true;
  }
  return false;
}

// scheme://user:pass@host:port/path?query -> scheme://host:port/path
std::string StripUrl(const std::string& url) {
  size_t scheme = url.find("://");
  std::string out = url.substr(0, scheme + 3);
  std::string rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  out += authority;
  if (slash != std::string::npos) out += rest.substr(slash);
  return out;
}

YAML::Node RedactScalar(const YAML::Node& node) {
  const std::string& value = node.Scalar();
  if (!value.empty() && value[0] == '/') return YAML::Node(kRedacted);
  size_t scheme = value.find("://");
  if (scheme != std::string::npos && scheme > 0 &&
      value.find_first_of(" \n") == std::string::npos) {
    return YAML::Node(StripUrl(value));
  }
  return node;
}

Result<YAML::Node> Redact(const YAML::Node& node, int depth);

Result<YAML::Node> RedactSequence(const YAML::Node& node, int depth) {
  YAML::Node out(YAML::NodeType::Sequence);
  for (const YAML::Node& item : node) {
    TG_ASSIGN_OR_RETURN(YAML::Node r, Redact(item, depth + 1));
    out.push_back(r);
  }
  return out;
}

Result<YAML::Node> RedactMap(const YAML::Node& node, int depth) {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& entry : node) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
    if (SecretKey(key)) {
      out[key] = kRedacted;
      continue;
    }
    TG_ASSIGN_OR_RETURN(YAML::Node r, Redact(entry.second, depth + 1));
    out[key] = r;
  }
  return out;
}

Result<YAML::Node> Redact(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) return InvalidArgument("effective config nested too deeply");
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return RedactScalar(node);
    case YAML::NodeType::Sequence:
      return RedactSequence(node, depth);
    case YAML::NodeType::Map:
      return RedactMap(node, depth);
    default:
      return node;
  }
}

}  // namespace

Result<std::string> RedactEffectiveConfig(std::string_view yaml) {
  if (yaml.size() > kMaxYamlBytes) return InvalidArgument("effective config above 1 MiB");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("effective config is not YAML: ") + e.what());
  }
  TG_ASSIGN_OR_RETURN(YAML::Node redacted, Redact(root, 0));
  YAML::Emitter out;
  out << redacted;
  if (!out.good()) return Internal("cannot emit the effective config");
  return std::string(out.c_str()) + "\n";
}

}  // namespace tidegate::agent
