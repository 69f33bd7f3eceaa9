// SPDX-License-Identifier: Apache-2.0
// MapReader: strict, typed reading of one YAML mapping for the config loader. Every key
// read is marked as known; Finish() reports the rest as unknown keys, suggesting the nearest
// known one. Each read consults the key table (agent/config_keys.h) for the key's type,
// range and choices; reading a key the table lacks is reported as an internal error, so the
// table cannot drift from the reads. Problems are collected as "FILE:LINE: dotted.key:
// message". The only file besides config_loader.cc that touches yaml-cpp; it throws nothing.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/config_keys.h"

namespace tidegate::agent {

// Names that end up in batch ids, metric labels and counter names (agent.id,
// aggregate[].name): 1-128 letters, digits, '-', '_' or '.'.
inline constexpr const char* kPlainNameRule =
    "must be 1-128 characters of letters, digits, '-', '_' or '.'";
bool IsPlainName(const std::string& name);

// How many internal errors (reads of a key the key table lacks, or as another type) any
// MapReader has reported in this process; for tests and fuzzers, which must never see one.
uint64_t InternalConfigErrorCount();

struct ConfigErrors {
  struct Error {
    int line;  // 1-based; 0 when the problem has no line
    std::string text;
  };
  std::string file;
  std::vector<Error> errors;
  std::map<std::string, int> key_lines;  // dotted key path -> 1-based line, every key seen
  void Add(const YAML::Mark& mark, const std::string& key, const std::string& message);
  // line is 1-based; 0 for none.
  void AddAtLine(int line, const std::string& key, const std::string& message);
  bool empty() const { return errors.empty(); }
  // Every problem, one per line, in line order (problems without a line first).
  std::string Text() const;
};

class MapReader {
 public:
  // node may be null/undefined (an absent section: every read keeps its default).
  MapReader(const YAML::Node& node, const std::string& path, ConfigErrors* errors);
  // The same, with the key table's path of this mapping given: for a mapping below a key
  // the user chose ("schemas[].fields.<pointer>" for "schemas[0].fields./temp"), whose
  // JSON Pointer may hold '.' or '['.
  MapReader(const YAML::Node& node, std::string path, std::string table_path, ConfigErrors* errors);

  bool Has(const std::string& key) const;
  YAML::Node Child(const std::string& key);  // marks key known; undefined if absent
  std::string KeyPath(const std::string& key) const;
  YAML::Mark MarkOf(const std::string& key) const;

  void Str(const std::string& key, std::string* out);
  // Numbers: each key's allowed range comes from the key table (found by the key's dotted
  // path); a value outside it is reported with "(allowed: MIN..MAX)".
  void Int(const std::string& key, int64_t* out);
  void Int(const std::string& key, int* out);
  void Bool(const std::string& key, bool* out);
  // A decimal number (kNumber); left unchanged when absent.
  void Number(const std::string& key, std::optional<double>* out);
  void Duration(const std::string& key, std::chrono::milliseconds* out);
  void Size(const std::string& key, uint64_t* out);
  void StrList(const std::string& key, std::vector<std::string>* out);
  // A string that must be one of the key's choices in the table; returns its index via *out.
  void Enum(const std::string& key, int* out);
  // The same, returning the choice's text.
  void Enum(const std::string& key, std::string* out);
  // A list of the key's choices in the table.
  void EnumList(const std::string& key, std::vector<std::string>* out);
  // Reports path (the value read from key) if it is not a JSON Pointer; the root pointer ""
  // is refused unless allow_root.
  void CheckPointer(const std::string& key, const std::string& path, bool allow_root = false);
  // Reports filter (the value read from key) if it is not a valid MQTT topic filter.
  void CheckTopicFilter(const std::string& key, const std::string& filter);
  // Reports every key that no read touched, with the nearest known key of this mapping.
  void Finish();

  ConfigErrors* errors() const { return errors_; }

 private:
  // The table's entry for key if it has one of types; else reports an internal error.
  const ConfigKey* Lookup(const std::string& key, std::initializer_list<KeyType> types) const;
  bool Scalar(const std::string& key, std::string* text);
  // The entry of key (of type) and its scalar text; false when there is nothing to read.
  bool TypedScalar(const std::string& key, KeyType type, const ConfigKey** entry,
                   std::string* text);
  void ReportRange(const std::string& key, const ConfigKey& entry, const std::string& problem);
  std::string Suggestion(const std::string& key) const;

  YAML::Node node_;
  std::string path_;
  std::string table_path_;
  ConfigErrors* errors_;
  std::map<std::string, YAML::Mark> key_marks_;
  std::set<std::string> known_;
};

}  // namespace tidegate::agent
