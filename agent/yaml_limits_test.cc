// SPDX-License-Identifier: Apache-2.0
#include "agent/yaml_limits.h"

#include <catch2/catch.hpp>
#include <string>

#include "agent/config_loader.h"

using tidegate::agent::CheckYamlLimits;
using tidegate::agent::kMaxConfigBytes;
using tidegate::agent::kMaxConfigDepth;

namespace {

std::string NestedFlow(int depth) {
  return "a: " + std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']') + "\n";
}

// Block mappings, one level per line: "k:\n k:\n  k: ..." ending in a scalar.
std::string NestedBlock(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  return out + std::string(static_cast<size_t>(depth), ' ') + "k: 1\n";
}

// Compact block sequences, "- - - - x": a level per two bytes.
std::string NestedCompact(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += "- ";
  return out + "x\n";
}

// The classic "billion laughs": 10 aliases per level, 9 levels, 10^9 leaves expanded.
std::string BillionLaughs() {
  std::string out = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    out += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) out += (j ? ", " : "") + prev;
    out += "]\n";
  }
  return out;
}

}  // namespace

TEST_CASE("nesting up to the depth limit passes, one level more is refused with its line",
          "[config][issue-10]") {
  // The root mapping is one level: a flow list nested depth - 1 deep reaches the limit.
  CHECK(CheckYamlLimits(NestedFlow(kMaxConfigDepth - 1), "t.yaml").ok());
  tidegate::Status deeper = CheckYamlLimits(NestedFlow(kMaxConfigDepth), "t.yaml");
  CHECK(deeper.code() == tidegate::StatusCode::kInvalidArgument);
  CHECK(deeper.message() == "t.yaml:1: nested deeper than 64 levels");
  tidegate::Status block = CheckYamlLimits(NestedBlock(1'000), "t.yaml");
  CHECK(block.message() == "t.yaml:65: nested deeper than 64 levels");  // where level 65 starts
}

TEST_CASE("a file nested 10,000 levels deep is refused by the loader naming the file",
          "[config][issue-10]") {
  for (const std::string& text : {NestedFlow(10'000), NestedCompact(10'000)}) {
    auto config = tidegate::agent::ParseConfig(text, "deep.yaml");
    REQUIRE_FALSE(config.ok());
    CHECK(config.status().code() == tidegate::StatusCode::kInvalidArgument);
    CHECK_THAT(config.status().message(),
               Catch::Matches("deep\\.yaml:[0-9]+: nested deeper than 64 levels"));
  }
}

TEST_CASE("aliases count as the nodes they expand to: a billion laughs is refused",
          "[config][issue-10]") {
  tidegate::Status laughs = CheckYamlLimits(BillionLaughs(), "lol.yaml");
  CHECK(laughs.code() == tidegate::StatusCode::kInvalidArgument);
  CHECK(laughs.message() ==
        "lol.yaml:5: more than 100000 nodes with aliases expanded (an "
        "alias bomb?)");
  // A flat list of 200,000 aliases of one scalar is as many nodes.
  std::string many = "a: &a x\nb: [";
  for (int i = 0; i < 200'000; ++i) many += "*a,";
  many += "*a]\n";
  REQUIRE(many.size() < kMaxConfigBytes);
  CHECK_THAT(CheckYamlLimits(many, "many.yaml").message(),
             Catch::StartsWith("many.yaml:2: more than 100000 nodes"));
  // Anchors used as a config would (a shared TLS block) are fine.
  CHECK(CheckYamlLimits("x: &tls {ca_file: a, cert_file: b}\ny: *tls\nz: *tls\n", "ok.yaml").ok());
}

TEST_CASE("a config larger than 1 MiB is refused before it is parsed", "[config][issue-10]") {
  std::string text = "# " + std::string(kMaxConfigBytes - 3, 'x') + "\n";
  REQUIRE(text.size() == kMaxConfigBytes);
  CHECK(CheckYamlLimits(text, "big.yaml").ok());
  text += "\n";
  tidegate::Status big = CheckYamlLimits(text, "big.yaml");
  CHECK(big.code() == tidegate::StatusCode::kInvalidArgument);
  CHECK(big.message() ==
        "big.yaml: larger than 1048576 bytes (1MiB), the most a config file may be");
}

TEST_CASE("syntax errors are left to the loader, which names their line", "[config]") {
  CHECK(CheckYamlLimits("a: [unclosed\n", "t.yaml").ok());
  auto config = tidegate::agent::ParseConfig("a: [unclosed\n", "t.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK_THAT(config.status().message(), Catch::StartsWith("t.yaml:"));
}
