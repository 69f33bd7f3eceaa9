// SPDX-License-Identifier: Apache-2.0
// Logging through spdlog, one line per record with key=value context. Log calls never
// carry payload or field values: only topics, counts, sizes, reasons, ids. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/status.h"

namespace tidegate {

// Sets the global level from "trace|debug|info|warn|error|off" and a compact pattern on
// stderr. kInvalidArgument for an unknown level name.
Status InitLogging(std::string_view level, std::string_view program);

// True if the level name is one InitLogging accepts.
bool IsValidLogLevel(std::string_view level);

}  // namespace tidegate
