// SPDX-License-Identifier: Apache-2.0
// Logging through spdlog: one structured record per line on stderr (journald), logfmt by
// default or JSON lines, with the same warning or error repeated rate-limited (the first
// few per minute, then one "suppressed repeats" summary). Log calls never carry payload or
// field values: only topics, counts, sizes, reasons, ids. Thread-safe.
#pragma once

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/log_format.h"
#include "common/log_rate_limiter.h"
#include "common/status.h"

namespace tidegate {

// Sets the default logger: the level from "trace|debug|info|warn|error|off", records in
// `format` ("logfmt" or "json") on stderr tagged prog=`program`, warnings and errors
// rate-limited. Summaries of suppressed repeats are written within seconds of their period
// ending (a periodic flush on a thread that blocks every signal) and at exit.
// kInvalidArgument for an unknown level or format.
Status InitLogging(std::string_view level, std::string_view program,
                   std::string_view format = "logfmt");

// True if the level name is one InitLogging accepts.
bool IsValidLogLevel(std::string_view level);

// True for "logfmt" and "json".
bool IsValidLogFormat(std::string_view format);

struct LogSinkOptions {
  LogFormat format = LogFormat::kLogfmt;
  std::string program;
  std::FILE* out = stderr;  // must stay open while the sink lives
  Clock* clock = nullptr;   // for the rate limiter; nullptr = RealClock(); must outlive the sink
  LogRateLimitOptions limits;
  // Records at this level or above are rate-limited; lower ones always pass.
  spdlog::level::level_enum limited_from = spdlog::level::warn;
};

// The sink InitLogging installs, for tests and other loggers. Thread-safe; pending summaries
// are written when it is destroyed.
std::shared_ptr<spdlog::sinks::sink> NewStructuredSink(LogSinkOptions options);

}  // namespace tidegate
