// SPDX-License-Identifier: Apache-2.0
// Every number in the config, generated from the key table: at its minimum and maximum
// the config loads, one step outside it is refused with "FILE:LINE: key: ... (allowed:
// MIN..MAX)", and configs/tidegate.yaml documents the same range beside the key.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/config_keys.h"
#include "agent/config_loader.h"
#include "common/units.h"
#include "tests/support/config_yaml.h"

namespace {

using tidegate::agent::AllConfigKeys;
using tidegate::agent::ConfigKey;
using tidegate::agent::IsNumeric;
using tidegate::agent::KeyType;
using tidegate::agent::NumberText;
using tidegate::agent::RangeText;
using tidegate::testing::IndexedKeyPath;
using tidegate::testing::MinimalConfigWith;
using tidegate::testing::YamlTree;

using KeyRange = ConfigKey;

std::string ValueText(const KeyRange& range, int64_t value) {
  return NumberText(range.type, value);
}

// The numeric keys of the table. Keys below a mapping key the user chooses
// ("schemas[].fields.<pointer>.max_length") have no one path to set; their own tests check
// their ranges (agent/config_schemas_test.cc).
std::vector<const ConfigKey*> AllKeyRanges() {
  std::vector<const ConfigKey*> out;
  for (const ConfigKey& key : AllConfigKeys()) {
    if (IsNumeric(key.type) && key.path.find('<') == std::string_view::npos) out.push_back(&key);
  }
  return out;
}

// Loads the config with path = text; "" if it is valid, else the error for path's line.
std::string Check(const KeyRange& range, const std::string& text, std::string* want) {
  YamlTree tree = MinimalConfigWith(range.path, text);
  int line = 0;
  std::string yaml = tree.Render(range.path, &line);
  REQUIRE(line > 0);
  *want = "test.yaml:" + std::to_string(line) + ": " + IndexedKeyPath(range.path) + ": ";
  auto config = tidegate::agent::ParseConfig(yaml, "test.yaml");
  if (config.ok()) return "";
  INFO(yaml);
  CHECK(config.status().code() == tidegate::StatusCode::kInvalidArgument);
  return config.status().message();
}

void ExpectAccepted(const KeyRange& range, int64_t value) {
  const std::string text = ValueText(range, value);
  INFO(range.path << " = " << text);
  std::string prefix;
  CHECK(Check(range, text, &prefix).empty());
}

void ExpectRefused(const KeyRange& range, int64_t value) {
  const std::string text = ValueText(range, value);
  INFO(range.path << " = " << text);
  std::string prefix;
  const std::string errors = Check(range, text, &prefix);
  const std::string want =
      prefix + "'" + text + "' is out of range (allowed: " + RangeText(range) + ")";
  INFO(errors);
  CHECK(("\n" + errors + "\n").find("\n" + want + "\n") != std::string::npos);
}

}  // namespace

TEST_CASE("every config number loads at its minimum and maximum and not one step outside",
          "[config][issue-10]") {
  for (const KeyRange* entry : AllKeyRanges()) {
    const KeyRange& range = *entry;
    ExpectAccepted(range, range.max);
    ExpectRefused(range, range.max + 1);
    ExpectAccepted(range, range.min);
    if (range.zero_is_off) ExpectAccepted(range, 0);
    if (range.min > 0 && !(range.zero_is_off && range.min == 1)) {
      if (!range.zero_is_off || range.min - 1 > 0) ExpectRefused(range, range.min - 1);
    }
  }
}

TEST_CASE("durations and sizes too large to parse name the allowed range", "[config][issue-10]") {
  for (const KeyRange* entry : AllKeyRanges()) {
    const KeyRange& range = *entry;
    if (range.type == KeyType::kInteger) continue;
    const std::string text =
        range.type == KeyType::kDuration ? "99999999999999999999d" : "99999999999999999999TiB";
    INFO(range.path);
    std::string prefix;
    const std::string errors = Check(range, text, &prefix);
    INFO(errors);
    CHECK(errors.find(prefix + "bad ") != std::string::npos);
    CHECK(errors.find("'" + text + "'") != std::string::npos);
    CHECK(errors.find("(allowed: " + RangeText(range) + ")") != std::string::npos);
  }
}

TEST_CASE("the key table has one entry per key and sane bounds", "[config]") {
  std::set<std::string_view> paths;
  for (const KeyRange* entry : AllKeyRanges()) {
    const KeyRange& range = *entry;
    INFO(range.path);
    CHECK(paths.insert(range.path).second);
    CHECK(range.min <= range.max);
    CHECK(range.min >= 0);
    CHECK(tidegate::agent::FindConfigKey(range.path) == &range);
  }
  CHECK(tidegate::agent::FindConfigKey("uplink.batch.lingerie") == nullptr);
}

TEST_CASE("configs/tidegate.yaml documents the range of every key beside it", "[config]") {
  std::ifstream in(std::string(TG_SOURCE_DIR) + "/configs/tidegate.yaml");
  REQUIRE(in);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    size_t key = line.find_first_not_of(" #-");
    lines.push_back(key == std::string::npos ? "" : line.substr(key));
  }
  for (const KeyRange* entry : AllKeyRanges()) {
    const KeyRange& range = *entry;
    std::string_view path = range.path;
    const std::string leaf(path.substr(path.rfind('.') + 1));
    const std::string allowed = "(allowed: " + RangeText(range) + ")";
    bool documented = false;
    for (const std::string& line : lines) {
      documented =
          documented || (line.rfind(leaf + ":", 0) == 0 && line.find(allowed) != std::string::npos);
    }
    INFO(range.path << ": expected a line \"" << leaf << ": ... " << allowed << "\"");
    CHECK(documented);
  }
}
