// SPDX-License-Identifier: Apache-2.0
#include "tests/support/config_yaml.h"

namespace tidegate::testing {

YamlTree MinimalConfigWith(std::string_view path, const std::string& value,
                           const std::string& state_dir) {
  YamlTree t;
  t.Set("agent.id", "gw-1");
  t.Set("agent.state_dir", state_dir);
  t.Set("source.mqtt.topics[].filter", "devices/+/telemetry");
  t.Set("uplink.url", "https://127.0.0.1:8443/v1/batches");
  t.Set("aggregate[].name", "a1");
  t.Set("aggregate[].window.tumbling", "1m");
  t.Set("aggregate[].measures./temp", "[avg]");
  if (path.find("window.hopping.") != std::string_view::npos) {
    t.Erase("aggregate[].window.tumbling");
    t.Set("aggregate[].window.hopping.size", value);
    t.Set("aggregate[].window.hopping.slide", value);
  }
  if (path.rfind("uplink.retry.", 0) == 0) {
    t.Set("uplink.retry.initial", value);
    t.Set("uplink.retry.max", value);
  }
  if (path.rfind("schemas[].", 0) == 0) t.Set("schemas[].name", "s1");  // required beside it
  t.Set(path, value);
  return t;
}

std::string IndexedKeyPath(std::string_view path) {
  std::string out;
  for (char c : path) {
    out.push_back(c);
    if (c == '[') out.push_back('0');
  }
  return out;
}

}  // namespace tidegate::testing
