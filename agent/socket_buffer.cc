// SPDX-License-Identifier: Apache-2.0
#include "agent/socket_buffer.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

// glibc's read() and write() under their other exported names (same symbol versions): the
// interposers below replace `read` and `write` for the whole process, so they must reach the
// real ones by these names.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): glibc's names
extern "C" ssize_t __read(int fd, void* buf, size_t count);
extern "C" ssize_t __write(int fd, const void* buf, size_t count);
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace tidegate::agent {
namespace {

// Plain thread_locals (nothing to construct on access): read() and write() run on every
// thread and must stay cheap for all the descriptors that are not ours.
thread_local int tl_fd = -1;
thread_local char* tl_read_data = nullptr;
thread_local size_t tl_read_begin = 0;
thread_local size_t tl_read_end = 0;
thread_local char* tl_write_data = nullptr;
thread_local size_t tl_write_len = 0;
thread_local bool tl_collecting = false;
thread_local uint64_t tl_socket_reads = 0;
thread_local uint64_t tl_socket_writes = 0;
thread_local int tl_refuse_socketpairs = 0;  // open WithoutWakeupPair scopes
thread_local uint64_t tl_refused_socketpairs = 0;

ssize_t BufferedRead(int fd, void* buf, size_t count) {
  if (tl_read_begin == tl_read_end) {
    ++tl_socket_reads;
    // A read at least as large as the buffer goes straight into the caller's memory.
    if (count >= SocketBuffer::kReadCapacity) return __read(fd, buf, count);
    const ssize_t n = __read(fd, tl_read_data, SocketBuffer::kReadCapacity);
    if (n <= 0) return n;  // end of stream or an error (EAGAIN included), errno as set
    tl_read_begin = 0;
    tl_read_end = static_cast<size_t>(n);
  }
  const size_t n = std::min(count, tl_read_end - tl_read_begin);
  std::memcpy(buf, tl_read_data + tl_read_begin, n);
  tl_read_begin += n;
  return static_cast<ssize_t>(n);
}

// SocketBuffer::FlushWrites without touching errno, for callers that report success.
bool FlushKeepingErrno() {
  const int saved = errno;
  const bool flushed = SocketBuffer::FlushWrites();
  errno = saved;
  return flushed;
}

ssize_t BufferedWrite(int fd, const void* buf, size_t count) {
  // Outside a batch, what an earlier flush could not send goes first.
  if (!tl_collecting && tl_write_len > 0) FlushKeepingErrno();
  if (!tl_collecting && tl_write_len == 0) {
    ++tl_socket_writes;
    return __write(fd, buf, count);
  }
  if (count > SocketBuffer::kWriteCapacity - tl_write_len) {
    if (tl_write_len == 0) {  // too large to collect, and nothing to keep it behind
      ++tl_socket_writes;
      return __write(fd, buf, count);
    }
    errno = EAGAIN;  // libmosquitto keeps the packet and writes it when select() says so
    return -1;
  }
  std::memcpy(tl_write_data + tl_write_len, buf, count);
  tl_write_len += count;
  return static_cast<ssize_t>(count);
}

}  // namespace

SocketBuffer::SocketBuffer(int fd) : fd_(fd) {
  if (tl_read_data == nullptr) tl_read_data = new char[kReadCapacity];
  if (tl_write_data == nullptr) tl_write_data = new char[kWriteCapacity];
  tl_read_begin = tl_read_end = 0;
  tl_write_len = 0;
  tl_collecting = false;
  tl_socket_reads = tl_socket_writes = 0;
  tl_fd = fd;
}

SocketBuffer::~SocketBuffer() {
  tl_fd = -1;
  tl_read_begin = tl_read_end = 0;
  tl_write_len = 0;
  tl_collecting = false;
  delete[] tl_read_data;
  tl_read_data = nullptr;
  delete[] tl_write_data;
  tl_write_data = nullptr;
}

SocketBuffer::WriteBatch::WriteBatch() { tl_collecting = tl_fd >= 0; }

SocketBuffer::WriteBatch::~WriteBatch() {
  if (!tl_collecting) return;
  tl_collecting = false;
  FlushKeepingErrno();
}

bool SocketBuffer::FlushWrites() {
  if (tl_write_len == 0) return true;  // also without a buffer attached (no memory to move)
  size_t sent = 0;
  while (sent < tl_write_len) {
    ++tl_socket_writes;
    const ssize_t n = __write(tl_fd, tl_write_data + sent, tl_write_len - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      sent = tl_write_len;  // the connection is gone, and these bytes with it
    }
  }
  std::memmove(tl_write_data, tl_write_data + sent, tl_write_len - sent);
  tl_write_len -= sent;
  return tl_write_len == 0;
}

size_t SocketBuffer::Buffered() { return tl_read_end - tl_read_begin; }

size_t SocketBuffer::PendingWrites() { return tl_write_len; }

uint64_t SocketBuffer::SocketReads() { return tl_socket_reads; }

uint64_t SocketBuffer::SocketWrites() { return tl_socket_writes; }

WithoutWakeupPair::WithoutWakeupPair() { ++tl_refuse_socketpairs; }

WithoutWakeupPair::~WithoutWakeupPair() { --tl_refuse_socketpairs; }

uint64_t WithoutWakeupPair::Refused() { return tl_refused_socketpairs; }

}  // namespace tidegate::agent

// Interpose the C library's read() and write(): the executable's definitions come first in
// symbol lookup, so libmosquitto's calls land here. Anything but the attached socket passes
// straight through. In a sanitizer build they also take the place of the sanitizer's
// interceptors (weak symbols), so ASan does not check the buffers these calls read or fill.
// NOLINTNEXTLINE(readability-identifier-naming): the C library's name
extern "C" ssize_t read(int fd, void* buf, size_t count) {
  if (fd < 0 || fd != tidegate::agent::tl_fd) return __read(fd, buf, count);
  return tidegate::agent::BufferedRead(fd, buf, count);
}

// NOLINTNEXTLINE(readability-identifier-naming): the C library's name
extern "C" ssize_t write(int fd, const void* buf, size_t count) {
  if (fd < 0 || fd != tidegate::agent::tl_fd) return __write(fd, buf, count);
  return tidegate::agent::BufferedWrite(fd, buf, count);
}

// glibc exports socketpair() under no other name: the real one is the system call.
// NOLINTNEXTLINE(readability-identifier-naming): the C library's name
extern "C" int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
  if (tidegate::agent::tl_refuse_socketpairs > 0) {
    ++tidegate::agent::tl_refused_socketpairs;
    errno = EMFILE;
    return -1;
  }
  return static_cast<int>(::syscall(SYS_socketpair, domain, type, protocol, sv));
}
