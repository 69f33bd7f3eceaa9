// SPDX-License-Identifier: Apache-2.0
#include "tests/support/files.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace tidegate::testing {
namespace {

std::string ErrnoText() { return std::generic_category().message(errno); }

Status WriteWithMode(const std::string& path, const std::string& text, std::ios::openmode how) {
  std::ofstream out(path, std::ios::binary | how);
  if (!out) return IOError("open " + path + " for writing: " + ErrnoText());
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return IOError("write " + path + ": " + ErrnoText());
  return Status::Ok();
}

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  TG_RETURN_IF_ERROR(WriteWithMode(path, text, std::ios::trunc));
  if (::chmod(path.c_str(), mode) != 0) {
    return IOError("chmod " + path + ": " + ErrnoText());
  }
  return Status::Ok();
}

Status AppendFile(const std::string& path, const std::string& text) {
  return WriteWithMode(path, text, std::ios::app);
}

std::optional<std::uint64_t> FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace tidegate::testing
