// SPDX-License-Identifier: Apache-2.0
// YamlTree: a YAML document built key by key from dotted paths, for tests that write a
// config with one key changed and need the line that key lands on (config errors name it).
// "[]" in a path is the single item of a list: "aggregate[].window.tumbling". Keys keep the
// order they were first set in. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tidegate::testing {

class YamlTree {
 public:
  // Sets path to a scalar, written as is (quote it yourself if it needs quotes); creates
  // the mappings and lists on the way, replaces an earlier value.
  void Set(std::string_view path, std::string value);
  // Removes path and everything below it, if present.
  void Erase(std::string_view path);
  // Block-style YAML text. With line_of, *line receives the 1-based line of that path's key
  // (0 if absent).
  std::string Render(std::string_view line_of = {}, int* line = nullptr) const;

 private:
  struct Node {
    std::string key;
    std::string scalar;
    bool list = false;  // a list of one item whose mapping is `children`
    std::vector<Node> children;
  };
  Node* Child(Node* parent, std::string_view name);
  void RenderNode(const Node& node, const std::string& path, int indent, bool first_of_item,
                  std::string* out, std::string_view line_of, int* line) const;

  Node root_;
};

}  // namespace tidegate::testing
