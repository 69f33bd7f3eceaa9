// SPDX-License-Identifier: Apache-2.0
#include "agent/yaml_reader.h"

#include <cctype>
#include <limits>

#include "common/json_pointer.h"
#include "common/topic_filter.h"
#include "common/units.h"

namespace tidegate::agent {
namespace {

// "aggregate[2].window" -> "aggregate[].window": the form the range table is keyed by.
std::string TablePath(const std::string& path) {
  std::string out;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (c == ']') in_index = false;
    if (!in_index || c == '[') out.push_back(c);
  }
  return out;
}

}  // namespace

void ConfigErrors::Add(const YAML::Mark& mark, const std::string& key, const std::string& message) {
  std::string line = file + ":";
  if (mark.line >= 0) line += std::to_string(mark.line + 1) + ":";
  if (!key.empty()) line += " " + key + ":";
  lines.push_back(line + " " + message);
}

MapReader::MapReader(const YAML::Node& node, std::string path, ConfigErrors* errors)
    : node_(node), path_(std::move(path)), errors_(errors) {
  if (!node_.IsDefined() || node_.IsNull()) return;
  // A list item's own line (its keys' lines follow below); a key's line stays its key's.
  if (!path_.empty()) errors_->key_lines.emplace(path_, node_.Mark().line + 1);
  if (!node_.IsMap()) {
    errors_->Add(node_.Mark(), path_, "expected a mapping of keys");
    node_ = YAML::Node();
    return;
  }
  for (const auto& pair : node_) {
    if (!pair.first.IsScalar()) {
      errors_->Add(pair.first.Mark(), path_, "keys must be plain strings");
      continue;
    }
    key_marks_[pair.first.Scalar()] = pair.first.Mark();
    errors_->key_lines[KeyPath(pair.first.Scalar())] = pair.first.Mark().line + 1;
  }
}

bool MapReader::Has(const std::string& key) const { return key_marks_.count(key) > 0; }

std::string MapReader::KeyPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

YAML::Mark MapReader::MarkOf(const std::string& key) const {
  auto it = key_marks_.find(key);
  return it == key_marks_.end() ? node_.Mark() : it->second;
}

YAML::Node MapReader::Child(const std::string& key) {
  known_.insert(key);
  if (!Has(key)) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

bool MapReader::Scalar(const std::string& key, std::string* text) {
  YAML::Node child = Child(key);
  if (!child.IsDefined() || child.IsNull()) return false;
  if (!child.IsScalar()) {
    errors_->Add(MarkOf(key), KeyPath(key), "expected a single value, not a list or mapping");
    return false;
  }
  *text = child.Scalar();
  return true;
}

void MapReader::Str(const std::string& key, std::string* out) {
  std::string text;
  if (Scalar(key, &text)) *out = text;
}

bool MapReader::RangedScalar(const std::string& key, ValueKind kind, const KeyRange** range,
                             std::string* text) {
  *range = FindKeyRange(TablePath(KeyPath(key)));
  if (*range == nullptr || (*range)->kind != kind) {
    // A programming error, caught by any test that loads a config with the section.
    errors_->Add(MarkOf(key), KeyPath(key),
                 "internal error: no allowed range for this key in agent/config_ranges.cc");
    return false;
  }
  return Scalar(key, text);
}

void MapReader::ReportRange(const std::string& key, const KeyRange& range,
                            const std::string& problem) {
  errors_->Add(MarkOf(key), KeyPath(key), problem + " (allowed: " + RangeText(range) + ")");
}

void MapReader::Int(const std::string& key, int64_t* out) {
  const KeyRange* range = nullptr;
  std::string text;
  if (!RangedScalar(key, ValueKind::kInteger, &range, &text)) return;
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    ReportRange(key, *range, "expected an integer, got '" + text + "'");
  } else if (!InRange(*range, value)) {
    ReportRange(key, *range, "'" + text + "' is out of range");
  } else {
    *out = value;
  }
}

void MapReader::Int(const std::string& key, int* out) {
  int64_t value = *out;
  Int(key, &value);
  *out = static_cast<int>(value);  // the table keeps every int key's range within int
}

void MapReader::Bool(const std::string& key, bool* out) {
  std::string text;
  if (!Scalar(key, &text)) return;
  if (text == "true") {
    *out = true;
  } else if (text == "false") {
    *out = false;
  } else {
    errors_->Add(MarkOf(key), KeyPath(key), "expected true or false, got '" + text + "'");
  }
}

void MapReader::Duration(const std::string& key, std::chrono::milliseconds* out) {
  const KeyRange* range = nullptr;
  std::string text;
  if (!RangedScalar(key, ValueKind::kDuration, &range, &text)) return;
  auto parsed = ParseDuration(text);
  if (!parsed.ok()) {
    ReportRange(key, *range, parsed.status().message());
  } else if (!InRange(*range, parsed->count())) {
    ReportRange(key, *range, "'" + text + "' is out of range");
  } else {
    *out = *parsed;
  }
}

void MapReader::Size(const std::string& key, uint64_t* out) {
  const KeyRange* range = nullptr;
  std::string text;
  if (!RangedScalar(key, ValueKind::kSize, &range, &text)) return;
  auto parsed = ParseSize(text);
  if (!parsed.ok()) {
    ReportRange(key, *range, parsed.status().message());
  } else if (*parsed > static_cast<uint64_t>(range->max) ||
             !InRange(*range, static_cast<int64_t>(*parsed))) {
    ReportRange(key, *range, "'" + text + "' is out of range");
  } else {
    *out = *parsed;
  }
}

void MapReader::StrList(const std::string& key, std::vector<std::string>* out) {
  YAML::Node child = Child(key);
  if (!child.IsDefined() || child.IsNull()) return;
  if (!child.IsSequence()) {
    errors_->Add(MarkOf(key), KeyPath(key), "expected a list");
    return;
  }
  out->clear();
  for (const auto& item : child) {
    if (!item.IsScalar()) {
      errors_->Add(item.Mark(), KeyPath(key), "list items must be plain values");
      continue;
    }
    out->push_back(item.Scalar());
  }
}

void MapReader::Enum(const std::string& key, const std::vector<std::string>& choices, int* out) {
  std::string text;
  if (!Scalar(key, &text)) return;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == text) {
      *out = static_cast<int>(i);
      return;
    }
  }
  std::string all;
  for (const auto& c : choices) all += (all.empty() ? "" : ", ") + c;
  errors_->Add(MarkOf(key), KeyPath(key), "expected one of " + all + ", got '" + text + "'");
}

void MapReader::CheckPointer(const std::string& key, const std::string& path, bool allow_root) {
  auto parsed = JsonPointer::Parse(path);
  if (!parsed.ok() || (parsed->IsRoot() && !allow_root)) {
    errors_->Add(MarkOf(key), KeyPath(key),
                 "'" + path + "' is not a JSON Pointer to a field (such as /user/email)");
  }
}

void MapReader::CheckTopicFilter(const std::string& key, const std::string& filter) {
  if (!IsValidTopicFilter(filter)) {
    errors_->Add(MarkOf(key), KeyPath(key), "'" + filter + "' is not a valid MQTT topic filter");
  }
}

void MapReader::Finish() {
  for (const auto& [key, mark] : key_marks_) {
    if (known_.count(key) == 0) errors_->Add(mark, KeyPath(key), "unknown key");
  }
}

bool IsPlainName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128;
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  return ok;
}

}  // namespace tidegate::agent
