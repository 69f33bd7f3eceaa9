// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/publish_log.h"

#include <cerrno>
#include <system_error>
#include <utility>

#include "common/json_escape.h"

namespace tidegate::sim {
namespace {

// strerror is not thread-safe; the category's message is.
std::string ErrnoText(int error) { return std::generic_category().message(error); }

// Large enough that writing 100,000 lines costs a few hundred write calls, not 100,000.
constexpr size_t kBufferBytes = 1 << 20;

}  // namespace

std::string FormatLogLine(std::string_view topic, int qos, bool duplicate, std::string_view payload,
                          std::string_view broken) {
  std::string line;
  line.reserve(topic.size() + payload.size() + 64);
  line += "{\"topic\":";
  AppendJsonString(&line, topic);
  line += ",\"qos\":";
  line += static_cast<char>('0' + qos);
  line += duplicate ? ",\"duplicate\":true" : ",\"duplicate\":false";
  if (!broken.empty()) {
    line += ",\"broken\":";
    AppendJsonString(&line, broken);
  }
  line += ",\"payload\":";
  line += payload;
  line += "}\n";
  return line;
}

Result<std::unique_ptr<PublishLog>> PublishLog::Open(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return IOError("cannot open log " + path + ": " + ErrnoText(errno));
  }
  std::unique_ptr<PublishLog> log(new PublishLog(path, file));
  // A failed setvbuf only costs speed: stdio keeps its default buffer.
  (void)std::setvbuf(file, nullptr, _IOFBF, kBufferBytes);
  return log;
}

void PublishLog::Append(std::string_view line) {
  if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() && write_errno_ == 0) {
    write_errno_ = errno != 0 ? errno : EIO;
  }
  ++lines_;
}

Status PublishLog::Close() {
  FILE* file = file_.release();
  if (file == nullptr) return Internal("log " + path_ + " closed twice");
  int error = write_errno_;
  if (std::fflush(file) != 0 && error == 0) error = errno;
  if (std::fclose(file) != 0 && error == 0) error = errno;
  if (error != 0) return IOError("writing log " + path_ + ": " + ErrnoText(error));
  return Status::Ok();
}

}  // namespace tidegate::sim
