// SPDX-License-Identifier: Apache-2.0
#include "agent/yaml_limits.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <unordered_map>
#include <vector>

namespace tidegate::agent {
namespace {

// Thrown from the event handler to stop the parse at the first limit passed.
struct LimitPassed {
  YAML::Mark mark;
  std::string message;
};

// Counts nodes as yaml-cpp reports them: an alias counts as the whole subtree it names.
class ShapeChecker : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Leaf(mark, anchor); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    Leaf(mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_nodes_.find(anchor);
    Count(mark, it == anchor_nodes_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Collection {
    size_t nodes_before;
    YAML::anchor_t anchor;
  };

  void Count(const YAML::Mark& mark, size_t n) {
    nodes_ = n > kMaxConfigNodes ? kMaxConfigNodes + 1 : nodes_ + n;
    if (nodes_ > kMaxConfigNodes) {
      throw LimitPassed{mark, "more than " + std::to_string(kMaxConfigNodes) +
                                  " nodes with aliases expanded (an alias bomb?)"};
    }
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Count(mark, 1);
    if (anchor != YAML::NullAnchor) anchor_nodes_[anchor] = 1;
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (open_.size() >= static_cast<size_t>(kMaxConfigDepth)) {
      throw LimitPassed{mark, "nested deeper than " + std::to_string(kMaxConfigDepth) + " levels"};
    }
    open_.push_back({nodes_, anchor});
    Count(mark, 1);
  }
  void Close() {
    if (open_.empty()) return;
    Collection c = open_.back();
    open_.pop_back();
    if (c.anchor != YAML::NullAnchor) anchor_nodes_[c.anchor] = nodes_ - c.nodes_before;
  }

  size_t nodes_ = 0;
  std::vector<Collection> open_;
  std::unordered_map<YAML::anchor_t, size_t> anchor_nodes_;
};

}  // namespace

Status CheckYamlLimits(std::string_view text, const std::string& source_name) {
  if (text.size() > kMaxConfigBytes) {
    return InvalidArgument(source_name + ": larger than " + std::to_string(kMaxConfigBytes) +
                           " bytes (1MiB), the most a config file may be");
  }
  std::istringstream in{std::string(text)};
  ShapeChecker checker;
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(checker);  // the loader reads the first document only
  } catch (const LimitPassed& e) {
    return InvalidArgument(source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.message);
  } catch (const YAML::Exception&) {
    // Syntax errors are the loader's to report, with their line.
  }
  return Status::Ok();
}

}  // namespace tidegate::agent
