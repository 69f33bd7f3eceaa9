// SPDX-License-Identifier: Apache-2.0
#include "agent/yaml_reader.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/json_pointer.h"
#include "common/topic_filter.h"
#include "common/units.h"

namespace tidegate::agent {
namespace {

constexpr std::string_view kTableFile = "agent/config_key_table.cc";
std::atomic<uint64_t> internal_errors{0};

// Longer unknown keys get no suggestion: no key is that long, and the distance costs
// length squared.
constexpr size_t kMaxSuggestedKey = 64;

// Optimal string alignment distance: edits, with a swap of neighbours as one ("tsl" -> "tls").
size_t EditDistance(const std::string& a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string_view LeafName(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

// text with control characters escaped ("\n", "\x12"): keys and values quoted in a message
// come from the file, and each message must stay one line on a terminal or in a log.
std::string Printable(const std::string& text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void ConfigErrors::Add(const YAML::Mark& mark, const std::string& key, const std::string& message) {
  AddAtLine(mark.line >= 0 ? mark.line + 1 : 0, key, message);
}

void ConfigErrors::AddAtLine(int line, const std::string& key, const std::string& message) {
  std::string text = file + ":";
  if (line > 0) text += std::to_string(line) + ":";
  if (!key.empty()) text += " " + Printable(key) + ":";
  errors.push_back({line, text + " " + Printable(message)});
}

std::string ConfigErrors::Text() const {
  std::vector<Error> sorted = errors;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Error& a, const Error& b) { return a.line < b.line; });
  std::string all;
  for (const Error& e : sorted) all += (all.empty() ? "" : "\n") + e.text;
  return all;
}

MapReader::MapReader(const YAML::Node& node, const std::string& path, ConfigErrors* errors)
    : MapReader(node, path, TablePath(path), errors) {}

MapReader::MapReader(const YAML::Node& node, std::string path, std::string table_path,
                     ConfigErrors* errors)
    : node_(node), path_(std::move(path)), table_path_(std::move(table_path)), errors_(errors) {
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
    auto [first, inserted] = key_marks_.emplace(pair.first.Scalar(), pair.first.Mark());
    if (!inserted) {
      errors_->Add(pair.first.Mark(), KeyPath(pair.first.Scalar()),
                   "duplicate key (first at line " + std::to_string(first->second.line + 1) + ")");
    } else {
      errors_->key_lines[KeyPath(pair.first.Scalar())] = pair.first.Mark().line + 1;
    }
  }
}

const ConfigKey* MapReader::Lookup(const std::string& key,
                                   std::initializer_list<KeyType> types) const {
  const ConfigKey* entry = FindChildKey(table_path_, key);
  for (KeyType type : types) {
    if (entry != nullptr && entry->type == type) return entry;
  }
  // A programming error, caught by any test that loads a config: every key read must be in
  // the table, with the type it is read as.
  internal_errors.fetch_add(1, std::memory_order_relaxed);
  errors_->Add(MarkOf(key), KeyPath(key),
               "internal error: the key table (" + std::string(kTableFile) +
                   (entry == nullptr ? ") lacks this key" : ") gives it another type"));
  return nullptr;
}

bool MapReader::Has(const std::string& key) const {
  Lookup(key, {KeyType::kSection, KeyType::kSectionList, KeyType::kString, KeyType::kFile,
               KeyType::kPointer, KeyType::kTopicFilter, KeyType::kBool, KeyType::kInteger,
               KeyType::kNumber, KeyType::kDuration, KeyType::kSize, KeyType::kChoice,
               KeyType::kStringList, KeyType::kPointerList, KeyType::kChoiceList});
  return key_marks_.count(key) > 0;
}

std::string MapReader::KeyPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

YAML::Mark MapReader::MarkOf(const std::string& key) const {
  auto it = key_marks_.find(key);
  return it == key_marks_.end() ? node_.Mark() : it->second;
}

YAML::Node MapReader::Child(const std::string& key) {
  Lookup(key, {KeyType::kSection, KeyType::kSectionList});
  known_.insert(key);
  if (!Has(key)) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

bool MapReader::Scalar(const std::string& key, std::string* text) {
  known_.insert(key);
  if (!Has(key)) return false;
  YAML::Node child = node_[key];
  if (!child.IsDefined() || child.IsNull()) return false;
  if (!child.IsScalar()) {
    errors_->Add(MarkOf(key), KeyPath(key), "expected a single value, not a list or mapping");
    return false;
  }
  *text = child.Scalar();
  return true;
}

void MapReader::Str(const std::string& key, std::string* out) {
  if (Lookup(key, {KeyType::kString, KeyType::kFile, KeyType::kPointer, KeyType::kTopicFilter}) ==
      nullptr) {
    return;
  }
  std::string text;
  if (Scalar(key, &text)) *out = text;
}

bool MapReader::TypedScalar(const std::string& key, KeyType type, const ConfigKey** entry,
                            std::string* text) {
  *entry = Lookup(key, {type});
  return *entry != nullptr && Scalar(key, text);
}

void MapReader::ReportRange(const std::string& key, const ConfigKey& entry,
                            const std::string& problem) {
  errors_->Add(MarkOf(key), KeyPath(key), problem + " (allowed: " + RangeText(entry) + ")");
}

void MapReader::Int(const std::string& key, int64_t* out) {
  const ConfigKey* range = nullptr;
  std::string text;
  if (!TypedScalar(key, KeyType::kInteger, &range, &text)) return;
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

void MapReader::Number(const std::string& key, std::optional<double>* out) {
  const ConfigKey* entry = nullptr;
  std::string text;
  if (!TypedScalar(key, KeyType::kNumber, &entry, &text)) return;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    errors_->Add(MarkOf(key), KeyPath(key), "expected a number, got '" + text + "'");
  } else {
    *out = value;
  }
}

void MapReader::Bool(const std::string& key, bool* out) {
  const ConfigKey* entry = nullptr;
  std::string text;
  if (!TypedScalar(key, KeyType::kBool, &entry, &text)) return;
  if (text == "true") {
    *out = true;
  } else if (text == "false") {
    *out = false;
  } else {
    errors_->Add(MarkOf(key), KeyPath(key), "expected true or false, got '" + text + "'");
  }
}

void MapReader::Duration(const std::string& key, std::chrono::milliseconds* out) {
  const ConfigKey* range = nullptr;
  std::string text;
  if (!TypedScalar(key, KeyType::kDuration, &range, &text)) return;
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
  const ConfigKey* range = nullptr;
  std::string text;
  if (!TypedScalar(key, KeyType::kSize, &range, &text)) return;
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
  if (Lookup(key, {KeyType::kStringList, KeyType::kPointerList, KeyType::kChoiceList}) == nullptr) {
    return;
  }
  known_.insert(key);
  if (!Has(key)) return;
  YAML::Node child = node_[key];
  if (child.IsNull()) return;
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

void MapReader::Enum(const std::string& key, int* out) {
  const ConfigKey* entry = nullptr;
  std::string text;
  if (!TypedScalar(key, KeyType::kChoice, &entry, &text)) return;
  const std::vector<std::string> choices = ChoiceList(*entry);
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == text) {
      *out = static_cast<int>(i);
      return;
    }
  }
  errors_->Add(MarkOf(key), KeyPath(key),
               "expected one of " + std::string(entry->choices) + ", got '" + text + "'");
}

void MapReader::Enum(const std::string& key, std::string* out) {
  int index = -1;
  Enum(key, &index);
  const ConfigKey* entry = FindChildKey(table_path_, key);
  if (index >= 0 && entry != nullptr) *out = ChoiceList(*entry)[static_cast<size_t>(index)];
}

void MapReader::EnumList(const std::string& key, std::vector<std::string>* out) {
  const ConfigKey* entry = Lookup(key, {KeyType::kChoiceList});
  if (entry == nullptr) return;
  StrList(key, out);
  const std::vector<std::string> choices = ChoiceList(*entry);
  for (const std::string& item : *out) {
    if (std::find(choices.begin(), choices.end(), item) == choices.end()) {
      errors_->Add(MarkOf(key), KeyPath(key),
                   "unknown value '" + item + "' (expected " + std::string(entry->choices) + ")");
    }
  }
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

std::string MapReader::Suggestion(const std::string& key) const {
  // Close enough to be a typo: one edit in a short key, two in a longer one.
  size_t best = key.size() < 4 ? 1 : 2;
  std::string_view nearest;
  if (key.size() > kMaxSuggestedKey) return "";
  for (const ConfigKey* entry : ChildKeys(table_path_)) {
    const std::string_view name = LeafName(entry->path);
    if (name.empty() || name.front() == '<') continue;
    if (name.size() > key.size() + best || key.size() > name.size() + best) continue;
    const size_t distance = EditDistance(key, name);
    if (distance <= best && distance < key.size() && (nearest.empty() || distance < best)) {
      best = distance;
      nearest = name;
    }
  }
  return nearest.empty() ? "" : " (did you mean '" + std::string(nearest) + "'?)";
}

void MapReader::Finish() {
  for (const auto& [key, mark] : key_marks_) {
    if (known_.count(key) == 0) errors_->Add(mark, KeyPath(key), "unknown key" + Suggestion(key));
  }
}

uint64_t InternalConfigErrorCount() { return internal_errors.load(std::memory_order_relaxed); }

bool IsPlainName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128;
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  return ok;
}

}  // namespace tidegate::agent
