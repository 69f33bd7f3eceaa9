// SPDX-License-Identifier: Apache-2.0
// A user-space read buffer for the MQTT source's socket. libmosquitto 2.0 reads each packet
// with three or four read() calls (the command byte, the remaining length a byte at a time,
// then the rest), so a 200-byte PUBLISH costs four syscalls. While a SocketReadBuffer is
// attached on a thread, every read() of its descriptor on that thread is served from one
// buffer that a single read() of up to kCapacity bytes refills: a burst of messages costs one
// syscall. It works by interposing read() (socket_read_buffer.cc); reads of any other
// descriptor, or on any other thread, go straight to the C library.
//
// Only for a socket that nothing reads except through read() on the attaching thread:
// libmosquitto without TLS (with TLS, OpenSSL buffers records itself and reads otherwise).
// Bytes buffered here are invisible to select()/poll(): call Buffered() before waiting.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidegate::agent {

class SocketReadBuffer {
 public:
  static constexpr size_t kCapacity = size_t{64} * 1024;

  // Attaches to `fd` on the calling thread with an empty buffer; detaches on destruction.
  // One per thread at a time.
  explicit SocketReadBuffer(int fd);
  ~SocketReadBuffer();
  SocketReadBuffer(const SocketReadBuffer&) = delete;
  SocketReadBuffer& operator=(const SocketReadBuffer&) = delete;

  int fd() const { return fd_; }

  // Bytes read from the socket and not yet handed to a reader (calling thread's buffer).
  static size_t Buffered();
  // read() calls this thread's buffer made on its socket, refills and pass-throughs of large
  // reads (for tests and the benchmark: reads served from the buffer make none).
  static uint64_t SocketReads();

 private:
  int fd_;
};

}  // namespace tidegate::agent
