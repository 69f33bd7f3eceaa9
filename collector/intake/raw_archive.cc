// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/raw_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

namespace tidegate::collector {
namespace {

constexpr size_t kMaxNameBytes = 200;

bool IsSafeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string Errno(int err) { return std::generic_category().message(err); }

// Writes all of data to fd, retrying short writes and EINTR. Returns 0 or an errno value.
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace

std::string RawFileName(std::string_view batch_id) {
  std::string name;
  for (char c : batch_id.substr(0, kMaxNameBytes)) name.push_back(IsSafeChar(c) ? c : '_');
  if (name.empty()) return "_";
  if (name.front() == '.') name.front() = '_';
  return name;
}

Status RawArchive::Keep(std::string_view batch_id, std::string_view body) const {
  const std::string path = dir_ + "/" + RawFileName(batch_id) + ".tgb.zst";
  // mkstemp needs a writable, NUL-terminated template; the leading '.' keeps partial files
  // apart from finished ones (finished names never start with '.').
  std::string tmpl = dir_ + "/." + RawFileName(batch_id) + ".XXXXXX";
  std::vector<char> tmp(tmpl.begin(), tmpl.end());
  tmp.push_back('\0');
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return IOError("--keep-raw: cannot create a file in " + dir_ + ": " + Errno(errno));
  int err = WriteAll(fd, body);
  if (::fchmod(fd, 0644) != 0 && err == 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.data(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.data());
    return IOError("--keep-raw: cannot write " + path + ": " + Errno(err));
  }
  return Status::Ok();
}

}  // namespace tidegate::collector
