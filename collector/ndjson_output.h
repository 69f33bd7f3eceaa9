// SPDX-License-Identifier: Apache-2.0
// What the commands that print a landing store as NDJSON share (`dump`, `agents`): building a
// line's "key":"text" members, and opening the store, writing the lines and reporting errors.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "collector/store/landing_store.h"
#include "common/status.h"

namespace tidegate::collector {

// Appends "key":"text" (both JSON-escaped).
void AppendJsonField(std::string* out, std::string_view key, std::string_view text);

// Writes one complete line to the command's output.
using LineSink = std::function<Status(const std::string& line)>;

// Opens `store` (a directory or a postgresql:// URL) read-only and lets `each` write its lines
// to `out`, then flushes. Errors go to `err` as "tidegate-collector: <command>: ...".
// Returns the exit code.
int PrintStoreNdjson(const std::string& store, std::string_view command, std::FILE* out,
                     std::FILE* err,
                     const std::function<Status(LandingStore&, const LineSink&)>& each);

}  // namespace tidegate::collector
