// SPDX-License-Identifier: Apache-2.0
// User-space buffering for the MQTT source's socket, under libmosquitto. libmosquitto 2.0
// reads each packet with three or four read() calls (the command byte, the remaining length
// a byte at a time, then the rest) and writes each QoS 1 PUBACK with a write() of its own,
// so a 200-byte PUBLISH costs four or five syscalls. While a SocketBuffer is attached on a
// thread, every read() of its descriptor on that thread is served from one buffer that a
// single read() of up to kReadCapacity bytes refills, and while a WriteBatch is open there,
// its write()s are collected and sent in one when the batch ends: a burst of messages costs
// one read and one write. It works by interposing read() and write() (socket_buffer.cc);
// any other descriptor, or any other thread, goes straight to the C library.
//
// Only for a socket that nothing uses except read() and write() on the attaching thread:
// libmosquitto without TLS (with TLS, OpenSSL reads and writes the socket its own way and
// buffers whole records itself). Bytes buffered here are invisible to select()/poll(): check
// Buffered() and PendingWrites() before waiting.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidegate::agent {

class SocketBuffer {
 public:
  static constexpr size_t kReadCapacity = size_t{64} * 1024;
  // Collected writes beyond this are refused with EAGAIN (libmosquitto keeps the packet and
  // writes it once select() finds the socket writable); a PUBACK is 4 bytes.
  static constexpr size_t kWriteCapacity = size_t{16} * 1024;

  // Attaches to `fd` on the calling thread with empty buffers; detaches on destruction,
  // dropping what is buffered either way (the connection is over). One per thread at a time.
  explicit SocketBuffer(int fd);
  ~SocketBuffer();
  SocketBuffer(const SocketBuffer&) = delete;
  SocketBuffer& operator=(const SocketBuffer&) = delete;

  int fd() const { return fd_; }

  // Collects the attached socket's writes on this thread for its lifetime, then sends them
  // (FlushWrites); if the SocketBuffer is destroyed first, they are dropped. Without a
  // SocketBuffer on the thread it does nothing. Destroy the SocketBuffer as soon as its
  // socket is closed: a flush writes to the descriptor's number.
  class WriteBatch {
   public:
    WriteBatch();
    ~WriteBatch();
    WriteBatch(const WriteBatch&) = delete;
    WriteBatch& operator=(const WriteBatch&) = delete;
  };

  // Sends what writes left pending: true if nothing is left. A socket whose send buffer is
  // full keeps the rest pending (retry later); on any other error the bytes are dropped, as
  // a closed connection drops them, and the caller's next read or write sees the error.
  static bool FlushWrites();

  // This thread's buffered bytes: read from the socket and not yet handed to a reader.
  static size_t Buffered();
  // This thread's written bytes not yet sent.
  static size_t PendingWrites();
  // read() and write() calls this thread's buffer made on its socket since it was attached
  // (for tests and the benchmark: reads served from the buffer and collected writes make none).
  static uint64_t SocketReads();
  static uint64_t SocketWrites();

 private:
  int fd_;
};

// While one lives on a thread, socketpair() on that thread fails with EMFILE. libmosquitto
// 2.0 makes a socketpair for each client (some releases again at each connect) only to wake
// a select() when another thread queues a packet, and writes a byte into it for every packet
// it queues (each PUBACK included) that its loop then reads back: two syscalls a QoS 1
// message that a client driven from one thread does not need. When the call fails it logs a
// warning and works on without it; mosquitto 2.1 has MOSQ_OPT_DISABLE_SOCKETPAIR for this,
// 2.0 (Debian 12's) does not. Only for a client that every call reaches from one thread.
class WithoutWakeupPair {
 public:
  WithoutWakeupPair();
  ~WithoutWakeupPair();
  WithoutWakeupPair(const WithoutWakeupPair&) = delete;
  WithoutWakeupPair& operator=(const WithoutWakeupPair&) = delete;

  // socketpair() calls refused on this thread since the first WithoutWakeupPair (for tests).
  static uint64_t Refused();
};

}  // namespace tidegate::agent
