// SPDX-License-Identifier: Apache-2.0
#include "agent/socket_read_buffer.h"

#include <sys/types.h>

#include <algorithm>
#include <cstring>
#include <memory>

// glibc's read() under its other exported name (same symbol version): the interposer below
// replaces `read` for the whole process, so it must reach the real one by this name.
// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): glibc's name
extern "C" ssize_t __read(int fd, void* buf, size_t count);

namespace tidegate::agent {
namespace {

// Plain thread_locals (no constructor to run on access): read() is called on every thread.
thread_local int tl_fd = -1;
thread_local char* tl_data = nullptr;
thread_local size_t tl_begin = 0;
thread_local size_t tl_end = 0;
thread_local uint64_t tl_socket_reads = 0;

ssize_t BufferedRead(int fd, void* buf, size_t count) {
  if (tl_begin == tl_end) {
    ++tl_socket_reads;
    // A read at least as large as the buffer goes straight into the caller's memory.
    if (count >= SocketReadBuffer::kCapacity) return __read(fd, buf, count);
    const ssize_t n = __read(fd, tl_data, SocketReadBuffer::kCapacity);
    if (n <= 0) return n;  // end of stream or an error (EAGAIN included), errno as set
    tl_begin = 0;
    tl_end = static_cast<size_t>(n);
  }
  const size_t n = std::min(count, tl_end - tl_begin);
  std::memcpy(buf, tl_data + tl_begin, n);
  tl_begin += n;
  return static_cast<ssize_t>(n);
}

}  // namespace

SocketReadBuffer::SocketReadBuffer(int fd) : fd_(fd) {
  if (tl_data == nullptr) tl_data = new char[kCapacity];
  tl_begin = tl_end = 0;
  tl_socket_reads = 0;
  tl_fd = fd;
}

SocketReadBuffer::~SocketReadBuffer() {
  tl_fd = -1;
  tl_begin = tl_end = 0;
  delete[] tl_data;
  tl_data = nullptr;
}

size_t SocketReadBuffer::Buffered() { return tl_end - tl_begin; }

uint64_t SocketReadBuffer::SocketReads() { return tl_socket_reads; }

}  // namespace tidegate::agent

// Interposes the C library's read(): the executable's definition comes first in symbol lookup,
// so libmosquitto's calls land here. Anything but the attached socket passes straight through.
// In a sanitizer build it also takes the place of the sanitizer's read() interceptor (a weak
// symbol), so ASan does not check the buffers that read() fills; the tests still run there.
extern "C" ssize_t read(int fd, void* buf, size_t count) {
  if (fd < 0 || fd != tidegate::agent::tl_fd) return __read(fd, buf, count);
  return tidegate::agent::BufferedRead(fd, buf, count);
}
