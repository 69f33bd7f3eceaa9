// SPDX-License-Identifier: Apache-2.0
#include "fuzz/config_seeds.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config_keys.h"

namespace tidegate::fuzz {
namespace {

namespace fs = std::filesystem;
using agent::ConfigKey;
using agent::KeyType;

// A YAML mapping built from dotted paths; "name[]" is a list of one mapping.
struct Node {
  std::string key;
  std::string value;
  bool list = false;
  std::vector<Node> children;

  Node* Child(std::string_view part) {
    const bool is_list = part.size() > 2 && part.substr(part.size() - 2) == "[]";
    if (is_list) part.remove_suffix(2);
    for (Node& c : children) {
      if (c.key == part) return &c;
    }
    children.push_back(Node{std::string(part), "", is_list, {}});
    return &children.back();
  }
  void Set(std::string_view path, std::string_view scalar) {
    Node* node = this;
    while (!path.empty()) {
      const size_t dot = path.find('.');
      node = node->Child(path.substr(0, dot));
      path.remove_prefix(dot == std::string_view::npos ? path.size() : dot + 1);
    }
    node->value = scalar;
  }
  void Render(const std::string& indent, std::string* out) const {
    for (const Node& c : children) {
      if (c.children.empty()) {
        *out += indent + c.key + ": " + c.value + "\n";
      } else if (c.list) {
        *out += indent + c.key + ":\n";
        *out += indent + "  -\n";
        c.Render(indent + "    ", out);
      } else {
        *out += indent + c.key + ":\n";
        c.Render(indent + "  ", out);
      }
    }
  }
};

bool Inside(std::string_view path, std::string_view key) {
  return path == key || (path.size() > key.size() && path.substr(0, key.size()) == key &&
                         (path[key.size()] == '.' || path[key.size()] == '['));
}

// Every key's example but those inside a key of left_out.
std::string ExampleConfig(const std::set<std::string_view>& left_out) {
  Node root;
  for (const ConfigKey& key : agent::AllConfigKeys()) {
    if (key.type == KeyType::kSection || key.type == KeyType::kSectionList) continue;
    bool skip = false;
    for (std::string_view out : left_out) skip = skip || Inside(key.path, out);
    if (skip) continue;
    std::string path(key.path);
    const size_t open = path.find('<');
    if (open != std::string::npos) path.replace(open, path.find('>') - open + 1, key.example_key);
    root.Set(path, key.example);
  }
  std::string out;
  root.Render("", &out);
  return out;
}

bool Write(const fs::path& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::fprintf(stderr, "seed_maker: cannot write %s\n", (dir / name).c_str());
  return static_cast<bool>(out);
}

constexpr const char* kMinimal =
    "source: {mqtt: {topics: [{filter: \"devices/#\"}]}}\n"
    "uplink: {url: \"https://127.0.0.1:8443/v1/batches\"}\n";

}  // namespace

bool WriteConfigSeeds(const fs::path& corpus) {
  const fs::path dir = corpus / "config_loader";
  // Groups' later members are left out of the full config, and get a seed each.
  std::set<std::string> groups;
  std::vector<std::string_view> later;
  for (const ConfigKey& key : agent::AllConfigKeys()) {
    if (key.group.empty()) continue;
    const std::string group =
        std::string(agent::ParentPath(key.path)) + "/" + std::string(key.group);
    if (!groups.insert(group).second) later.push_back(key.path);
  }
  const std::set<std::string_view> alternatives(later.begin(), later.end());
  bool ok = Write(dir, "seed-every-key.yaml", ExampleConfig(alternatives));
  for (std::string_view alt : later) {
    std::set<std::string_view> left_out = alternatives;
    left_out.erase(alt);
    for (const ConfigKey& key : agent::AllConfigKeys()) {
      if (!key.group.empty() && key.path != alt &&
          agent::ParentPath(key.path) == agent::ParentPath(alt)) {
        left_out.insert(key.path);
      }
    }
    std::string name;
    for (char c : alt) {
      if (c != '[' && c != ']') name.push_back(c == '.' ? '-' : c);
    }
    ok = ok && Write(dir, "seed-alt-" + name + ".yaml", ExampleConfig(left_out));
  }
  const std::string minimal = kMinimal;
  ok = ok && Write(dir, "seed-minimal.yaml", minimal) &&
       Write(dir, "seed-duplicate-key.yaml", minimal + "agent: {id: a, id: b}\nagent: {}\n") &&
       Write(dir, "seed-tab.yaml", minimal + "buffer:\n\tmax_bytes: 1MiB\n") &&
       Write(dir, "seed-alias.yaml",
             minimal +
                 "aggregate:\n  - &a {name: x, window: {tumbling: 1m}, measures: "
                 "{/t: [avg]}}\n  - *a\n") &&
       Write(dir, "seed-wrong-types.yaml",
             minimal +
                 "agent: [1, 2]\nbuffer: {max_bytes: {a: 1}, sync: [full]}\n"
                 "privacy: {rules: {match: x}}\ndedup: 5\n");
  return ok;
}

}  // namespace tidegate::fuzz
