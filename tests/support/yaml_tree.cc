// SPDX-License-Identifier: Apache-2.0
#include "tests/support/yaml_tree.h"

#include <algorithm>

namespace tidegate::testing {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t dot = path.find('.');
    parts.push_back(path.substr(0, dot));
    path.remove_prefix(dot == std::string_view::npos ? path.size() : dot + 1);
  }
  return parts;
}

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

YamlTree::Node* YamlTree::Child(Node* parent, std::string_view name) {
  const bool list = name.size() > 2 && name.substr(name.size() - 2) == "[]";
  if (list) name.remove_suffix(2);
  for (Node& child : parent->children) {
    if (child.key == name) return &child;
  }
  parent->children.push_back(
      Node{.key = std::string(name), .scalar = {}, .list = list, .children = {}});
  return &parent->children.back();
}

void YamlTree::Set(std::string_view path, std::string value) {
  Node* node = &root_;
  for (std::string_view part : Split(path)) node = Child(node, part);
  node->children.clear();
  node->scalar = std::move(value);
}

void YamlTree::Erase(std::string_view path) {
  std::vector<std::string_view> parts = Split(path);
  if (parts.empty()) return;
  Node* node = &root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) node = Child(node, parts[i]);
  std::string_view last = parts.back();
  if (last.size() > 2 && last.substr(last.size() - 2) == "[]") last.remove_suffix(2);
  auto& kids = node->children;
  kids.erase(std::remove_if(kids.begin(), kids.end(), [&](const Node& n) { return n.key == last; }),
             kids.end());
}

void YamlTree::RenderNode(const Node& node, const std::string& path, int indent, bool first_of_item,
                          std::string* out, std::string_view line_of, int* line) const {
  bool first = first_of_item;
  for (const Node& child : node.children) {
    const std::string& key = child.key;
    const std::string child_path = path.empty() ? key : std::string(path).append(".").append(key);
    std::string pad(static_cast<size_t>(indent), ' ');
    if (first) pad.replace(pad.size() - 2, 2, "- ");
    first = false;
    if (line != nullptr && (child_path == line_of || child_path + "[]" == line_of)) {
      *line = CountLines(*out) + 1;
    }
    if (child.children.empty()) {
      *out += pad + key + ": " + child.scalar + "\n";
    } else if (child.list) {
      *out += pad + key + ":\n";
      RenderNode(child, child_path + "[]", indent + 4, true, out, line_of, line);
    } else {
      *out += pad + key + ":\n";
      RenderNode(child, child_path, indent + 2, false, out, line_of, line);
    }
  }
}

std::string YamlTree::Render(std::string_view line_of, int* line) const {
  std::string out;
  if (line != nullptr) *line = 0;
  RenderNode(root_, "", 0, false, &out, line_of, line);
  return out;
}

}  // namespace tidegate::testing
