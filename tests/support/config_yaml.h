// SPDX-License-Identifier: Apache-2.0
// A minimal valid agent config (one topic, one aggregation, an uplink URL) as a YamlTree,
// with one key set, for tests that walk the config's keys: the config loader's range tests
// and `tidegate config check` through the binary. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tests/support/yaml_tree.h"

namespace tidegate::testing {

// The config with path (dotted, "[]" for the one list item) set to value. Keys validated
// against each other get the same value so that only the range of path is tested: hopping
// size and slide (the tumbling window then goes), retry initial and max.
YamlTree MinimalConfigWith(std::string_view path, const std::string& value,
                           const std::string& state_dir = "/tmp/tidegate-unused");

// "aggregate[].window" -> "aggregate[0].window": a table path as config errors name it.
std::string IndexedKeyPath(std::string_view path);

}  // namespace tidegate::testing
