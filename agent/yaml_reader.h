// SPDX-License-Identifier: Apache-2.0
// MapReader: strict, typed reading of one YAML mapping for the config loader. Every key
// read is marked as known; Finish() reports the rest as unknown keys. Problems are appended
// to a shared list as "FILE:LINE: dotted.key: message". The only file besides
// config_loader.cc that touches yaml-cpp; it throws nothing.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/config_ranges.h"

namespace tidegate::agent {

// Names that end up in batch ids, metric labels and counter names (agent.id,
// aggregate[].name): 1-128 letters, digits, '-', '_' or '.'.
inline constexpr const char* kPlainNameRule =
    "must be 1-128 characters of letters, digits, '-', '_' or '.'";
bool IsPlainName(const std::string& name);

struct ConfigErrors {
  std::string file;
  std::vector<std::string> lines;
  std::map<std::string, int> key_lines;  // dotted key path -> 1-based line, every key seen
  void Add(const YAML::Mark& mark, const std::string& key, const std::string& message);
};

class MapReader {
 public:
  // node may be null/undefined (an absent section: every read keeps its default).
  MapReader(const YAML::Node& node, std::string path, ConfigErrors* errors);

  bool Has(const std::string& key) const;
  YAML::Node Child(const std::string& key);  // marks key known; undefined if absent
  std::string KeyPath(const std::string& key) const;
  YAML::Mark MarkOf(const std::string& key) const;

  void Str(const std::string& key, std::string* out);
  // Numbers: each key's allowed range comes from the table in agent/config_ranges.cc (found
  // by the key's dotted path); a value outside it is reported with "(allowed: MIN..MAX)".
  void Int(const std::string& key, int64_t* out);
  void Int(const std::string& key, int* out);
  void Bool(const std::string& key, bool* out);
  void Duration(const std::string& key, std::chrono::milliseconds* out);
  void Size(const std::string& key, uint64_t* out);
  void StrList(const std::string& key, std::vector<std::string>* out);
  // A string that must be one of choices; returns its index via *out.
  void Enum(const std::string& key, const std::vector<std::string>& choices, int* out);
  // Reports path (the value read from key) if it is not a JSON Pointer; the root pointer ""
  // is refused unless allow_root.
  void CheckPointer(const std::string& key, const std::string& path, bool allow_root = false);
  // Reports filter (the value read from key) if it is not a valid MQTT topic filter.
  void CheckTopicFilter(const std::string& key, const std::string& filter);
  // Reports every key that no read touched.
  void Finish();

  ConfigErrors* errors() const { return errors_; }

 private:
  bool Scalar(const std::string& key, std::string* text);
  // The range of key and its scalar text; false (reported if the table lacks the key) when
  // there is nothing to read.
  bool RangedScalar(const std::string& key, ValueKind kind, const KeyRange** range,
                    std::string* text);
  void ReportRange(const std::string& key, const KeyRange& range, const std::string& problem);

  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  std::map<std::string, YAML::Mark> key_marks_;
  std::set<std::string> known_;
};

}  // namespace tidegate::agent
