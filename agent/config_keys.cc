// SPDX-License-Identifier: Apache-2.0
#include "agent/config_keys.h"

#include <chrono>

#include "common/units.h"

namespace tidegate::agent {

std::string TablePath(std::string_view path) {
  std::string out;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (c == ']') in_index = false;
    if (!in_index || c == '[') out.push_back(c);
  }
  return out;
}

std::string_view ParentPath(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

const ConfigKey* FindConfigKey(std::string_view path) {
  for (const ConfigKey& key : AllConfigKeys()) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

const ConfigKey* FindChildKey(std::string_view parent, std::string_view key) {
  const std::string prefix = parent.empty() ? std::string() : std::string(parent) + ".";
  if (const ConfigKey* exact = FindConfigKey(prefix + std::string(key))) return exact;
  for (const ConfigKey& entry : AllConfigKeys()) {
    if (ParentPath(entry.path) == parent && entry.path.size() > prefix.size() &&
        entry.path[prefix.size()] == '<') {
      return &entry;
    }
  }
  return nullptr;
}

std::vector<const ConfigKey*> ChildKeys(std::string_view parent) {
  std::vector<const ConfigKey*> out;
  for (const ConfigKey& key : AllConfigKeys()) {
    if (ParentPath(key.path) == parent) out.push_back(&key);
  }
  return out;
}

std::vector<std::string> ChoiceList(const ConfigKey& key) {
  std::vector<std::string> out;
  std::string_view rest = key.choices;
  while (!rest.empty()) {
    const size_t comma = rest.find(", ");
    out.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  return out;
}

bool IsNumeric(KeyType type) {
  return type == KeyType::kInteger || type == KeyType::kDuration || type == KeyType::kSize;
}

bool InRange(const ConfigKey& key, int64_t value) {
  return (key.zero_is_off && value == 0) || (value >= key.min && value <= key.max);
}

std::string NumberText(KeyType type, int64_t value) {
  if (type == KeyType::kDuration) return FormatDuration(std::chrono::milliseconds(value));
  if (type == KeyType::kSize) return FormatSize(static_cast<uint64_t>(value));
  return std::to_string(value);
}

std::string RangeText(const ConfigKey& key) {
  const std::string text = key.zero_is_off ? "0 or " : "";
  return text + NumberText(key.type, key.min) + ".." + NumberText(key.type, key.max);
}

}  // namespace tidegate::agent
