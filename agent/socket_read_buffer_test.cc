// SPDX-License-Identifier: Apache-2.0
// SocketReadBuffer over a socketpair: what the attaching thread reads of its descriptor comes
// from one refill, in order and unchanged; everything else (other descriptors, other
// threads, reads after detaching) goes straight to the kernel, with its errors.
#include "agent/socket_read_buffer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
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
  SocketReadBuffer buffer(pair.reader());
  std::string got;
  char c = 0;
  while (got.size() < sent.size()) {
    REQUIRE(::read(pair.reader(), &c, 1) == 1);  // libmosquitto's way: a byte at a time
    got += c;
  }
  CHECK(got == sent);
  CHECK(SocketReadBuffer::SocketReads() == 1);
  CHECK(SocketReadBuffer::Buffered() == 0);
  // Drained: the next read reaches the kernel and reports its EAGAIN.
  errno = 0;
  CHECK(::read(pair.reader(), &c, 1) == -1);
  CHECK(errno == EAGAIN);
  CHECK(SocketReadBuffer::SocketReads() == 2);
}

TEST_CASE("a short read leaves the rest buffered for the next one") {
  SocketPair pair;
  pair.Send("0123456789");
  SocketReadBuffer buffer(pair.reader());
  char out[4] = {};
  REQUIRE(::read(pair.reader(), out, 4) == 4);
  CHECK(std::string(out, 4) == "0123");
  CHECK(SocketReadBuffer::Buffered() == 6);
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
  SocketReadBuffer buffer(pair.reader());
  std::string out(SocketReadBuffer::kCapacity, '\0');
  REQUIRE(::read(pair.reader(), out.data(), out.size()) == 5);
  CHECK(out.substr(0, 5) == "large");
  CHECK(SocketReadBuffer::Buffered() == 0);
}

TEST_CASE("other descriptors, other threads and a detached socket are not buffered") {
  SocketPair attached;
  SocketPair other;
  attached.Send("attached");
  other.Send("other");
  {
    SocketReadBuffer buffer(attached.reader());
    char c = 0;
    REQUIRE(::read(other.reader(), &c, 1) == 1);
    CHECK(c == 'o');
    CHECK(SocketReadBuffer::SocketReads() == 0);
    CHECK(SocketReadBuffer::Buffered() == 0);
    std::thread([&] {
      char d = 0;
      REQUIRE(::read(attached.reader(), &d, 1) == 1);
      CHECK(d == 'a');
      CHECK(SocketReadBuffer::Buffered() == 0);  // this thread has no buffer
    }).join();
    REQUIRE(::read(attached.reader(), &c, 1) == 1);
    CHECK(c == 't');
    CHECK(SocketReadBuffer::Buffered() == 6);  // "tached" minus the 't' just read
  }
  // Detached: what was buffered is gone with it; the kernel has nothing left to give.
  CHECK(SocketReadBuffer::Buffered() == 0);
  char c = 0;
  errno = 0;
  CHECK(::read(attached.reader(), &c, 1) == -1);
  CHECK(errno == EAGAIN);
}

TEST_CASE("end of stream is passed on once the buffer is empty") {
  SocketPair pair;
  pair.Send("xy");
  ::shutdown(pair.writer(), SHUT_WR);
  SocketReadBuffer buffer(pair.reader());
  char c = 0;
  REQUIRE(::read(pair.reader(), &c, 1) == 1);
  REQUIRE(::read(pair.reader(), &c, 1) == 1);
  CHECK(c == 'y');
  CHECK(::read(pair.reader(), &c, 1) == 0);
}

}  // namespace
}  // namespace tidegate::agent
