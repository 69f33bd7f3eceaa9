// SPDX-License-Identifier: Apache-2.0
// Seeds of the config_loader fuzzer, made from the key table (agent/config_keys.h): a config
// of every key's example, one per alternative of each group, and a few hostile shapes
// (duplicate keys, tabs, aliases, wrong types). Written by fuzz_seed_maker. Not thread-safe.
#pragma once

#include <filesystem>

namespace tidegate::fuzz {

// Writes CORPUS/config_loader/seed-*.yaml; false if a file could not be written.
bool WriteConfigSeeds(const std::filesystem::path& corpus);

}  // namespace tidegate::fuzz
