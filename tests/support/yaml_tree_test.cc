// SPDX-License-Identifier: Apache-2.0
#include "tests/support/yaml_tree.h"

#include <catch2/catch.hpp>

using tidegate::testing::YamlTree;

TEST_CASE("YamlTree renders nested keys and one-item lists with the line of a key", "[support]") {
  YamlTree tree;
  tree.Set("agent.id", "gw");
  tree.Set("source.mqtt.topics[].filter", "a/b");
  tree.Set("source.mqtt.topics[].qos", "1");
  tree.Set("source.mqtt.port", "1883");
  tree.Set("agent.state_dir", "/tmp/x");
  tree.Set("agent.id", "gw-2");
  int line = 0;
  CHECK(tree.Render("source.mqtt.topics[].qos", &line) ==
        "agent:\n"
        "  id: gw-2\n"
        "  state_dir: /tmp/x\n"
        "source:\n"
        "  mqtt:\n"
        "    topics:\n"
        "      - filter: a/b\n"
        "        qos: 1\n"
        "    port: 1883\n");
  CHECK(line == 8);
  tree.Render("source.mqtt.topics[].filter", &line);
  CHECK(line == 7);
  tree.Erase("source.mqtt.topics[]");
  tree.Set("agent", "{}");
  CHECK(tree.Render("nothing", &line) == "agent: {}\nsource:\n  mqtt:\n    port: 1883\n");
  CHECK(line == 0);
}
