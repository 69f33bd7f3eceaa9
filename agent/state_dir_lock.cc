// SPDX-License-Identifier: Apache-2.0
#include "agent/state_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

namespace tidegate::agent {
namespace {

// generic_category, not strerror: strerror may share a static buffer between threads.
std::string ErrnoText(int err) { return std::generic_category().message(err); }

// The pid the holder wrote, or "unknown" while it is still writing it.
std::string HolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

Status WritePid(int fd) {
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return IOError("write the lock file: " + ErrnoText(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<StateDirLock> StateDirLock::Acquire(const std::string& state_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // Private whatever the umask; a directory the operator made is left as it is.
  if (fs::create_directories(state_dir, ec) && !ec) {
    fs::permissions(state_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (ec) return IOError("cannot create state_dir " + state_dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(state_dir) / "tidegate.lock").string();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);  // 0600 & ~umask
  if (fd < 0) return IOError("cannot open " + path + ": " + ErrnoText(errno));
  StateDirLock lock(fd);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      return Unavailable("state_dir " + state_dir + " is in use by another tidegate agent (pid " +
                         HolderPid(fd) + "); one agent per state_dir");
    }
    return IOError("cannot lock " + path + ": " + ErrnoText(err));
  }
  TG_RETURN_IF_ERROR(WritePid(fd));
  return lock;
}

StateDirLock::StateDirLock(StateDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

StateDirLock& StateDirLock::operator=(StateDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace tidegate::agent
