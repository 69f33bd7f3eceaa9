// SPDX-License-Identifier: Apache-2.0
#include "common/log.h"

#include <pthread.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <csignal>
#include <mutex>
#include <vector>

namespace tidegate {
namespace {

// The names of agent.log_level, so a record's level reads like the config.
std::string_view LevelName(int level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// Runs on whichever thread logs, serialized by base_sink's mutex.
class StructuredSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StructuredSink(LogSinkOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : RealClock()),
        limiter_(clock_, options_.limits) {}
  StructuredSink(const StructuredSink&) = delete;
  StructuredSink& operator=(const StructuredSink&) = delete;
  ~StructuredSink() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<SuppressedRepeats> due;
    limiter_.TakeAll(&due);
    WriteSummaries(due, clock_.NowUnixMs());
    std::fflush(options_.out);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const int64_t unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    std::vector<SuppressedRepeats> due;
    bool admit = msg.level < options_.limited_from ||
                 limiter_.Admit(static_cast<int>(msg.level), text, &due);
    WriteSummaries(due, unix_ms);
    if (!admit) return;
    Write(LogRecord{.unix_ms = unix_ms,
                    .level = LevelName(msg.level),
                    .prog = options_.program,
                    .msg = text,
                    .fields = {}});
  }

  void flush_() override {
    std::vector<SuppressedRepeats> due;
    limiter_.TakeDue(&due);
    WriteSummaries(due, clock_.NowUnixMs());
    std::fflush(options_.out);
  }

 private:
  void Write(const LogRecord& record) {
    const std::string line = FormatLogRecord(options_.format, record);
    std::fwrite(line.data(), 1, line.size(), options_.out);
  }

  // A summary written with a record carries that record's time; one written by a flush or
  // at exit carries the clock's.
  void WriteSummaries(const std::vector<SuppressedRepeats>& due, int64_t unix_ms) {
    for (const SuppressedRepeats& s : due) {
      const std::string count = std::to_string(s.count);
      const LogField fields[] = {{"count", count}, {"last", s.last}};
      Write(LogRecord{.unix_ms = unix_ms,
                      .level = LevelName(s.level),
                      .prog = options_.program,
                      .msg = "suppressed repeats",
                      .fields = fields});
    }
  }

  const LogSinkOptions options_;
  Clock& clock_;
  LogRateLimiter limiter_;  // guarded by mutex_
};

}  // namespace

bool IsValidLogLevel(std::string_view level) {
  return level == "trace" || level == "debug" || level == "info" || level == "warn" ||
         level == "error" || level == "off";
}

bool IsValidLogFormat(std::string_view format) {
  LogFormat parsed{};
  return ParseLogFormat(format, &parsed);
}

std::shared_ptr<spdlog::sinks::sink> NewStructuredSink(LogSinkOptions options) {
  return std::make_shared<StructuredSink>(std::move(options));
}

Status InitLogging(std::string_view level, std::string_view program, std::string_view format) {
  if (!IsValidLogLevel(level)) {
    return InvalidArgument("unknown log level '" + std::string(level) + "'");
  }
  LogSinkOptions options;
  options.program = std::string(program);
  if (!ParseLogFormat(format, &options.format)) {
    return InvalidArgument("unknown log format '" + std::string(format) +
                           "' (expected logfmt or json)");
  }
  auto logger =
      std::make_shared<spdlog::logger>(std::string(program), NewStructuredSink(std::move(options)));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::flush_on(spdlog::level::info);
  // Also writes the summaries of suppressed repeats when nothing else is logged. The flusher
  // thread starts with every signal blocked: the programs take SIGTERM with sigwait() on
  // their own thread, and a thread that let it through would die of it instead.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  spdlog::flush_every(std::chrono::seconds(5));
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return Status::Ok();
}

}  // namespace tidegate
