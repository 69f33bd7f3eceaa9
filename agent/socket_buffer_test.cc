// SPDX-License-Identifier: Apache-2.0
// SocketBuffer over a socketpair: what the attaching thread reads of its descriptor comes
// from one refill, in order and unchanged; what it writes in a WriteBatch leaves in one write
// when the batch ends, or later if the socket cannot take it, in order; everything else
// (other descriptors, other threads, after detaching) goes straight to the kernel, with its
// errors.
#include "agent/socket_buffer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <string>
#include <thread>

namespace tidegate::agent {
namespace {

struct SocketPair {
  SocketPair() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(::fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
  }
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  void Send(const std::string& bytes) const {
    REQUIRE(::write(fds[0], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  int writer() const { return fds[0]; }
  int reader() const { return fds[1]; }
  int fds[2] = {-1, -1};
};

std::string Numbered(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += std::to_string(i) + ",";
  return out;
}

TEST_CASE("the attached socket is read in one refill, byte for byte") {
  SocketPair pair;
  const std::string sent = Numbered(500);
  pair.Send(sent);
  SocketBuffer buffer(pair.reader());
  std::string got;
  char c = 0;
  while (got.size() < sent.size()) {
    REQUIRE(::read(pair.reader(), &c, 1) == 1);  // libmosquitto's way: a byte at a time
    got += c;
  }
  CHECK(got == sent);
  CHECK(SocketBuffer::SocketReads() == 1);
  CHECK(SocketBuffer::Buffered() == 0);
  // Drained: the next read reaches the kernel and reports its EAGAIN.
  errno = 0;
  CHECK(::read(pair.reader(), &c, 1) == -1);
  CHECK(errno == EAGAIN);
  CHECK(SocketBuffer::SocketReads() == 2);
}

TEST_CASE("a short read leaves the rest buffered for the next one") {
  SocketPair pair;
  pair.Send("0123456789");
  SocketBuffer buffer(pair.reader());
  char out[4] = {};
  REQUIRE(::read(pair.reader(), out, 4) == 4);
  CHECK(std::string(out, 4) == "0123");
  CHECK(SocketBuffer::Buffered() == 6);
  pair.Send("abc");  // arrives after the refill: read once the buffered part is gone
  std::string rest(16, '\0');
  REQUIRE(::read(pair.reader(), rest.data(), rest.size()) == 6);
  CHECK(rest.substr(0, 6) == "456789");
  REQUIRE(::read(pair.reader(), rest.data(), rest.size()) == 3);
  CHECK(rest.substr(0, 3) == "abc");
}

TEST_CASE("a read as large as the buffer goes straight into the caller's memory") {
  SocketPair pair;
  pair.Send("large");
  SocketBuffer buffer(pair.reader());
  std::string out(SocketBuffer::kReadCapacity, '\0');
  REQUIRE(::read(pair.reader(), out.data(), out.size()) == 5);
  CHECK(out.substr(0, 5) == "large");
  CHECK(SocketBuffer::Buffered() == 0);
}

TEST_CASE("other descriptors, other threads and a detached socket are not buffered") {
  SocketPair attached;
  SocketPair other;
  attached.Send("attached");
  other.Send("other");
  {
    SocketBuffer buffer(attached.reader());
    char c = 0;
    REQUIRE(::read(other.reader(), &c, 1) == 1);
    CHECK(c == 'o');
    CHECK(SocketBuffer::SocketReads() == 0);
    CHECK(SocketBuffer::Buffered() == 0);
    std::thread([&] {
      char d = 0;
      REQUIRE(::read(attached.reader(), &d, 1) == 1);
      CHECK(d == 'a');
      CHECK(SocketBuffer::Buffered() == 0);  // this thread has no buffer
    }).join();
    REQUIRE(::read(attached.reader(), &c, 1) == 1);
    CHECK(c == 't');
    CHECK(SocketBuffer::Buffered() == 6);  // "tached" minus the 't' just read
  }
  // Detached: what was buffered is gone with it; the kernel has nothing left to give.
  CHECK(SocketBuffer::Buffered() == 0);
  char c = 0;
  errno = 0;
  CHECK(::read(attached.reader(), &c, 1) == -1);
  CHECK(errno == EAGAIN);
}

TEST_CASE("end of stream is passed on once the buffer is empty") {
  SocketPair pair;
  pair.Send("xy");
  ::shutdown(pair.writer(), SHUT_WR);
  SocketBuffer buffer(pair.reader());
  char c = 0;
  REQUIRE(::read(pair.reader(), &c, 1) == 1);
  REQUIRE(::read(pair.reader(), &c, 1) == 1);
  CHECK(c == 'y');
  CHECK(::read(pair.reader(), &c, 1) == 0);
}

// What the peer can read now, without waiting.
std::string Drain(int fd) {
  std::string out;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n <= 0) return out;
    out.append(chunk, static_cast<size_t>(n));
  }
}

TEST_CASE("writes in a batch leave in one write when it ends, in order") {
  SocketPair pair;
  SocketBuffer buffer(pair.reader());
  REQUIRE(::write(pair.reader(), "first", 5) == 5);  // no batch: straight out
  CHECK(Drain(pair.writer()) == "first");
  {
    SocketBuffer::WriteBatch batch;
    for (int i = 0; i < 100; ++i) {
      const std::string ack = std::to_string(i) + ",";
      REQUIRE(::write(pair.reader(), ack.data(), ack.size()) == static_cast<ssize_t>(ack.size()));
    }
    CHECK(Drain(pair.writer()).empty());  // held back while the batch is open
    CHECK(SocketBuffer::PendingWrites() == Numbered(100).size());
  }
  CHECK(SocketBuffer::PendingWrites() == 0);
  CHECK(Drain(pair.writer()) == Numbered(100));
  CHECK(SocketBuffer::SocketWrites() == 2);
}

TEST_CASE("a socket that cannot take a batch keeps the rest pending, in order") {
  SocketPair pair;
  SocketBuffer buffer(pair.reader());
  // Fill the socket until the kernel takes no more.
  const std::string block(4096, 'f');
  std::string filled;
  while (::send(pair.reader(), block.data(), block.size(), MSG_DONTWAIT) > 0) filled += block;
  {
    SocketBuffer::WriteBatch batch;
    REQUIRE(::write(pair.reader(), "ack1", 4) == 4);
    REQUIRE(::write(pair.reader(), "ack2", 4) == 4);
  }
  CHECK(SocketBuffer::PendingWrites() == 8);
  CHECK_FALSE(SocketBuffer::FlushWrites());
  // A write outside any batch goes behind what is pending, not ahead of it.
  REQUIRE(::write(pair.reader(), "ack3", 4) == 4);
  CHECK(SocketBuffer::PendingWrites() == 12);
  // More than the buffer can keep is refused for the writer to retry (libmosquitto does).
  std::string too_large(SocketBuffer::kWriteCapacity, 'x');
  errno = 0;
  CHECK(::write(pair.reader(), too_large.data(), too_large.size()) == -1);
  CHECK(errno == EAGAIN);
  // The peer reads: what was pending follows what was in the socket.
  std::string got;
  while (got.size() < filled.size()) got += Drain(pair.writer());
  CHECK(SocketBuffer::FlushWrites());
  got += Drain(pair.writer());
  CHECK(got == filled + "ack1ack2ack3");
}

TEST_CASE("a batch to a closed peer drops its bytes and the next write sees the error") {
  std::signal(SIGPIPE, SIG_IGN);  // as the agent does
  SocketPair pair;
  SocketBuffer buffer(pair.reader());
  ::close(pair.fds[0]);
  pair.fds[0] = -1;
  {
    SocketBuffer::WriteBatch batch;
    REQUIRE(::write(pair.reader(), "lost", 4) == 4);
  }
  CHECK(SocketBuffer::PendingWrites() == 0);
  errno = 0;
  CHECK(::write(pair.reader(), "next", 4) == -1);
  CHECK(errno == EPIPE);
}

TEST_CASE("without an attached socket a batch collects nothing") {
  SocketPair pair;
  {
    SocketBuffer::WriteBatch batch;
    REQUIRE(::write(pair.reader(), "now", 3) == 3);
    CHECK(Drain(pair.writer()) == "now");
  }
  CHECK(SocketBuffer::PendingWrites() == 0);
}

TEST_CASE("socketpair() fails on a thread without wakeup pairs, and only there") {
  int sv[2] = {-1, -1};
  const uint64_t refused_before = WithoutWakeupPair::Refused();
  {
    const WithoutWakeupPair no_pairs;
    errno = 0;
    CHECK(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1);
    CHECK(errno == EMFILE);
    CHECK(WithoutWakeupPair::Refused() == refused_before + 1);
    std::thread([] {
      int other[2] = {-1, -1};
      REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, other) == 0);  // another thread: as usual
      ::close(other[0]);
      ::close(other[1]);
    }).join();
  }
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  REQUIRE(::write(sv[0], "x", 1) == 1);
  char c = 0;
  CHECK(::read(sv[1], &c, 1) == 1);
  CHECK(c == 'x');
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace tidegate::agent
