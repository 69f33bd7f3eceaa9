// SPDX-License-Identifier: Apache-2.0
// The simulator's --log file: NDJSON, one line per message the broker acknowledged (QoS 0:
// per message libmosquitto accepted), in the order the acknowledgements arrived. Tests
// compare it with what the receiving end got, so it must never list a message that was not
// acknowledged. PublishLog is not thread-safe; the Publisher calls it under its own mutex.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace tidegate::sim {

// {"topic":"...","qos":1,"duplicate":false,"payload":{...}} plus '\n'. payload must be a JSON
// object; it is embedded as JSON, not as a string.
// With broken (a Breakage name, tidegate-sim --broken-firmware), ,"broken":"<name>" follows
// "duplicate"; sound events have no "broken" key.
std::string FormatLogLine(std::string_view topic, int qos, bool duplicate, std::string_view payload,
                          std::string_view broken = {});

class PublishLog {
 public:
  // Creates or truncates path. kIOError naming the path if it cannot be opened.
  static Result<std::unique_ptr<PublishLog>> Open(const std::string& path);

  // Buffers a line from FormatLogLine. A write error is remembered and returned by Close.
  void Append(std::string_view line);

  // Flushes and closes the file; kIOError if any write, the flush or the close failed.
  // Append must not be called afterwards.
  Status Close();

  uint64_t lines() const { return lines_; }

 private:
  struct FileCloser {
    void operator()(FILE* file) const { std::fclose(file); }
  };

  PublishLog(std::string path, FILE* file) : path_(std::move(path)), file_(file) {}

  std::string path_;
  std::unique_ptr<FILE, FileCloser> file_;
  uint64_t lines_ = 0;
  int write_errno_ = 0;  // first write error, 0 if none
};

}  // namespace tidegate::sim
