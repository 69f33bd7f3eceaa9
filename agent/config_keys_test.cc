// SPDX-License-Identifier: Apache-2.0
// The key table against the loader, generated from the table itself: a config made of every
// key's example loads; each optional key can be left out (and then takes its documented
// default), each required one cannot; each alternative of a group loads alone; the
// reference documents every key and docs/config-reference.md is the reference as printed.
#include "agent/config_keys.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/config_loader.h"
#include "agent/config_reference.h"
#include "tests/support/yaml_tree.h"

namespace {

using tidegate::Config;
using tidegate::agent::AllConfigKeys;
using tidegate::agent::ConfigKey;
using tidegate::agent::KeyType;
using tidegate::agent::Need;
using tidegate::agent::ParseConfig;
using tidegate::testing::YamlTree;

bool IsSection(const ConfigKey& key) {
  return key.type == KeyType::kSection || key.type == KeyType::kSectionList;
}

// path with a "<...>" part replaced by the example's key, as YamlTree writes it.
std::string ExamplePath(const ConfigKey& key) {
  std::string path(key.path);
  const size_t open = path.find('<');
  if (open != std::string::npos) path.replace(open, path.find('>') - open + 1, key.example_key);
  return path;
}

// True if path is key or inside it ("aggregate" holds "aggregate[].name").
bool Inside(std::string_view path, std::string_view key) {
  return path == key || (path.size() > key.size() && path.substr(0, key.size()) == key &&
                         (path[key.size()] == '.' || path[key.size()] == '['));
}

// The keys the full config leaves out: every member of a group but the first, and all
// inside them.
std::set<std::string_view> Alternatives() {
  std::set<std::string> first_of_group;
  std::set<std::string_view> out;
  for (const ConfigKey& key : AllConfigKeys()) {
    if (key.group.empty()) continue;
    const std::string group =
        std::string(tidegate::agent::ParentPath(key.path)) + "/" + std::string(key.group);
    if (!first_of_group.insert(group).second) out.insert(key.path);
  }
  return out;
}

bool Excluded(std::string_view path, const std::set<std::string_view>& left_out) {
  for (std::string_view out : left_out) {
    if (Inside(path, out)) return true;
  }
  return false;
}

// Every key set to its example, but the keys in left_out (and all inside them).
YamlTree ConfigFromExamples(const std::set<std::string_view>& left_out) {
  YamlTree tree;
  for (const ConfigKey& key : AllConfigKeys()) {
    if (IsSection(key) || Excluded(key.path, left_out)) continue;
    tree.Set(ExamplePath(key), std::string(key.example));
  }
  return tree;
}

// key and the keys that do not work without it, transitively.
std::set<std::string_view> WithDependents(std::string_view path) {
  std::set<std::string_view> out = {path};
  for (bool grew = true; grew;) {
    grew = false;
    for (const ConfigKey& key : AllConfigKeys()) {
      if (!key.needs.empty() && Excluded(key.needs, out) && out.insert(key.path).second) {
        grew = true;
      }
    }
  }
  return out;
}

// Runs of whitespace (line breaks of the wrapped reference) as one space.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n';
    if (!space || out.empty() || out.back() != ' ') out.push_back(space ? ' ' : c);
  }
  return out;
}

tidegate::Result<Config> Parse(const YamlTree& tree) {
  return ParseConfig(tree.Render(), "test.yaml");
}

}  // namespace

TEST_CASE("every entry of the key table is complete", "[config][issue-11]") {
  std::set<std::string_view> paths;
  for (const ConfigKey& key : AllConfigKeys()) {
    INFO(key.path);
    CHECK(paths.insert(key.path).second);
    CHECK_FALSE(key.doc.empty());
    if (!IsSection(key)) CHECK_FALSE(key.example.empty());
    if (key.path.find('<') != std::string_view::npos) CHECK_FALSE(key.example_key.empty());
    const std::string_view parent = tidegate::agent::ParentPath(key.path);
    if (!parent.empty()) {
      // Sections come before their keys.
      const std::string holder(parent.substr(
          0, parent.rfind("[]") == parent.size() - 2 ? parent.size() - 2 : parent.size()));
      CHECK(paths.count(holder) == 1);
    }
    if (!key.needs.empty()) CHECK(tidegate::agent::FindConfigKey(key.needs) != nullptr);
    if (key.type == KeyType::kChoice || key.type == KeyType::kChoiceList) {
      CHECK_FALSE(key.choices.empty());
    }
  }
}

TEST_CASE("a config of every key's example loads", "[config][issue-11]") {
  const YamlTree tree = ConfigFromExamples(Alternatives());
  auto config = Parse(tree);
  INFO(tree.Render());
  REQUIRE(config.status().message() == "");
  CHECK(config->mqtt.username == "tidegate");
  CHECK(config->privacy.rules.size() == 1);
  CHECK(config->aggregates.size() == 1);
}

TEST_CASE("every optional key can be left out and then takes its documented default",
          "[config][issue-11]") {
  const std::set<std::string_view> alternatives = Alternatives();
  for (const ConfigKey& key : AllConfigKeys()) {
    if (key.need != Need::kOptional || Excluded(key.path, alternatives)) continue;
    std::set<std::string_view> left_out = WithDependents(key.path);
    left_out.insert(alternatives.begin(), alternatives.end());
    YamlTree tree = ConfigFromExamples(left_out);
    auto without = Parse(tree);
    INFO("without " << key.path << ":\n" << tree.Render());
    REQUIRE(without.status().message() == "");
    if (key.default_value.empty() || IsSection(key)) continue;
    tree.Set(ExamplePath(key), std::string(key.default_value));
    auto with_default = Parse(tree);
    INFO("with " << key.path << ": " << key.default_value);
    REQUIRE(with_default.status().message() == "");
    CHECK(*with_default == *without);
  }
}

TEST_CASE("every required key is required", "[config][issue-11]") {
  const std::set<std::string_view> alternatives = Alternatives();
  for (const ConfigKey& key : AllConfigKeys()) {
    if (key.need != Need::kRequired || Excluded(key.path, alternatives)) continue;
    std::set<std::string_view> left_out = alternatives;
    left_out.insert(key.path);
    const YamlTree tree = ConfigFromExamples(left_out);
    INFO("without " << key.path << ":\n" << tree.Render());
    CHECK_FALSE(Parse(tree).ok());
  }
}

TEST_CASE("each key of a group loads alone, and two of them are refused", "[config][issue-11]") {
  for (const ConfigKey& key : AllConfigKeys()) {
    if (key.group.empty()) continue;
    std::set<std::string_view> others;
    for (const ConfigKey& peer : AllConfigKeys()) {
      if (&peer != &key && peer.group == key.group &&
          tidegate::agent::ParentPath(peer.path) == tidegate::agent::ParentPath(key.path)) {
        others.insert(peer.path);
      }
    }
    std::set<std::string_view> left_out = Alternatives();
    for (std::string_view other : others) left_out.insert(other);
    left_out.erase(key.path);
    const YamlTree alone = ConfigFromExamples(left_out);
    INFO(key.path << " alone:\n" << alone.Render());
    CHECK(Parse(alone).status().message() == "");
    std::set<std::string_view> none_out = Alternatives();
    for (std::string_view other : others) none_out.erase(other);
    none_out.erase(key.path);
    const YamlTree both = ConfigFromExamples(none_out);
    INFO(key.path << " with the others:\n" << both.Render());
    CHECK_FALSE(Parse(both).ok());
  }
}

TEST_CASE("a privacy rule with any one action alone loads", "[config][issue-11]") {
  const std::string base = R"(source:
  mqtt:
    topics:
      - filter: "sensors/#"
uplink:
  url: https://127.0.0.1:8443/v1/batches
privacy:
  key_file: /etc/tidegate/keys/token.keys
  recipient_public_key: /etc/tidegate/keys/recipient.pub
  rules:
    - match: "sensors/#"
)";
  for (const char* action : {"tokenize: [/email]", "encrypt: [/phone]", "mask: {/ip: year_only}",
                             "drop: [/humidity]", "scrub: [/note]"}) {
    INFO(action);
    CHECK(ParseConfig(base + "      " + action + "\n", "test.yaml").status().message() == "");
  }
  // Without any key file, as an operator writes a first rule.
  auto drop_only = ParseConfig(R"(source:
  mqtt:
    topics: [{filter: "sensors/#"}]
uplink: {url: "https://127.0.0.1:8443/v1/batches"}
privacy:
  rules:
    - match: "sensors/#"
      drop: [/humidity]
)",
                               "test.yaml");
  REQUIRE(drop_only.status().message() == "");
  REQUIRE(drop_only->privacy.rules.size() == 1);
  CHECK(drop_only->privacy.rules[0].drop == std::vector<std::string>{"/humidity"});
  CHECK(drop_only->privacy.rules[0].mask.empty());
}

TEST_CASE("the reference documents every key of the table", "[config][issue-11]") {
  const std::string reference = tidegate::agent::ConfigReference();
  const std::string flowed = OneLine(reference);
  for (const ConfigKey& key : AllConfigKeys()) {
    INFO(key.path);
    const std::string name(key.path);
    if (IsSection(key)) {
      const std::string heading = name + (key.type == KeyType::kSectionList ? "[]" : "") + "\n";
      CHECK((reference.find("## " + heading) != std::string::npos));
    } else {
      CHECK_THAT(reference, Catch::Contains("- `" + name + "`: "));
      CHECK_THAT(flowed, Catch::Contains(std::string(key.doc)));
    }
  }
  CHECK_THAT(reference, !Catch::Contains("SPEC"));
}

TEST_CASE("docs/config-reference.md is the reference as tidegate prints it", "[config][issue-11]") {
  std::ifstream in(std::string(TG_SOURCE_DIR) + "/docs/config-reference.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  INFO("regenerate it: build/bin/tidegate config reference > docs/config-reference.md");
  CHECK(text.str() == tidegate::agent::ConfigReference());
}
