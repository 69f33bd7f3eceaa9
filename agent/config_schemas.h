// SPDX-License-Identifier: Apache-2.0
// The `schemas[]` section: its reader for the config loader (single keys: name, version,
// match, each field's pointer and type, and the bounded counts) and its checks across keys
// for config semantics (rules that do not fit the type, min above max, enum values of the
// wrong type, a path inside another, conflicts between schemas and incompatible versions,
// filters/payload_schema.h). Stateless; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agent/yaml_reader.h"
#include "common/config.h"

namespace tidegate::agent {

void ReadSchemas(MapReader& root, std::vector<SchemaSpec>* schemas);

// (dotted key, message) for each problem; the key's line is in config.key_lines.
std::vector<std::pair<std::string, std::string>> CheckSchemas(const Config& config);

}  // namespace tidegate::agent
