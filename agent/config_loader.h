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

// Reads and parses a file, then reads the secrets it names (ReadPasswordFile). kNotFound /
// kIOError "cannot read config file PATH: <errno text>" if it cannot be read.
Result<Config> LoadConfigFile(const std::string& path);

// Reads source.mqtt.credentials.password_file, if set, into source.mqtt.credentials.password:
// one trailing newline removed. kInvalidArgument naming the file if it cannot be read, is
// empty, or is readable or writable by group or others (it must be mode 0600 or stricter).
Status ReadPasswordFile(Config* config);

}  // namespace tidegate::agent
