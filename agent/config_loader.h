// SPDX-License-Identifier: Apache-2.0
// Strict loading of the agent's YAML config into tidegate::Config. Unknown keys, wrong
// types, bad durations, sizes, JSON Pointers or topic filters are errors, each naming the
// file, line and dotted key ("tidegate.yaml:12: source.mqtt.port: ..."). yaml-cpp's
// exceptions stop here. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace tidegate::agent {

// Parses YAML text; source_name is used in messages. kInvalidArgument lists every problem
// found, one per line.
Result<Config> ParseConfig(std::string_view yaml_text, const std::string& source_name);

// Reads and parses a file; kNotFound / kIOError if it cannot be read.
Result<Config> LoadConfigFile(const std::string& path);

}  // namespace tidegate::agent
