// SPDX-License-Identifier: Apache-2.0
#include "remote/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace tidegate::remote {
namespace {

// Closes the descriptor it owns.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status Errno(const std::string& what, const std::string& path) {
  return IOError(what + " " + path + ": " + std::generic_category().message(errno));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return Errno("cannot write", path);
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return Errno("cannot sync directory", dir);
  return Status::Ok();
}

// Writes and syncs the temp file; closes it.
Status WriteTemp(const std::string& tmp, std::string_view contents, unsigned mode) {
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (fd.get() < 0) return Errno("cannot create", tmp);
  TG_RETURN_IF_ERROR(WriteAll(fd.get(), contents, tmp));
  if (::fsync(fd.get()) != 0) return Errno("cannot sync", tmp);
  if (::close(fd.Release()) != 0) return Errno("cannot close", tmp);
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view contents, unsigned mode,
                           const AtomicWriteHook& hook) {
  const std::filesystem::path target(path);
  const std::string dir =
      target.has_parent_path() ? target.parent_path().string() : std::string(".");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  Status status = WriteTemp(tmp, contents, mode);
  if (status.ok() && hook) status = hook(AtomicWriteStep::kTempWritten);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = Errno("cannot rename onto", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (hook) TG_RETURN_IF_ERROR(hook(AtomicWriteStep::kRenamed));
  return SyncDirectory(dir);
}

Result<std::string> ReadWholeFile(const std::string& path, size_t max_bytes) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    return errno == ENOENT ? NotFound("no file " + path) : Errno("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Errno("cannot stat", path);
  if (!S_ISREG(st.st_mode)) return IOError(path + " is not a regular file");
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t got = ::read(fd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Errno("cannot read", path);
    if (got == 0) break;
    if (text.size() + static_cast<size_t>(got) > max_bytes) {
      return ResourceExhausted(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    text.append(buf, static_cast<size_t>(got));
  }
  return text;
}

}  // namespace tidegate::remote
