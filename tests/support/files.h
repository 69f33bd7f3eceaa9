// SPDX-License-Identifier: Apache-2.0
// Small whole-file helpers for tests: read what a process wrote, write configs and keys.
// Reads never fail loudly (a missing file reads as empty), because tests usually poll for a
// file to appear. Stateless and thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

// The whole file as bytes; empty if it is missing or unreadable.
std::string ReadFile(const std::string& path);

// The file split on '\n', without the newlines; a final line without '\n' is included, an
// empty trailing line is not. Empty if the file is missing.
std::vector<std::string> ReadLines(const std::string& path);

// Replaces the file's contents (creating it) and sets its mode, e.g. 0600 for key files.
// kIOError naming the path on failure.
Status WriteFile(const std::string& path, const std::string& text, mode_t mode = 0644);

// Appends to the file, creating it with mode 0644 if missing.
Status AppendFile(const std::string& path, const std::string& text);

// Size in bytes, or nullopt if the file does not exist.
std::optional<std::uint64_t> FileSize(const std::string& path);

}  // namespace tidegate::testing
