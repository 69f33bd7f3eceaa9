// SPDX-License-Identifier: Apache-2.0
// FaultProxy against a plain TCP echo server on loopback: each mode does to the bytes what
// its name says, and Stop() returns with connections still open.
#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Echoes every byte back, one connection at a time, until destroyed.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof(addr);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buf[4096];
      while (!stop_) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 20) <= 0) continue;
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        (void)::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

// Reads what arrives within `timeout`: the bytes, and how the stream ended ("" open,
// "eof", or "reset").
std::pair<std::string, std::string> ReadFor(int fd, milliseconds timeout) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return {got, "eof"};
    if (n < 0) return {got, errno == ECONNRESET ? "reset" : "error"};
    got.append(buf, static_cast<size_t>(n));
  }
  return {got, ""};
}

TEST_CASE("the fault proxy passes, delays, stalls, resets, truncates and refuses", "[support]") {
  EchoServer echo;
  auto started = FaultProxy::Start(echo.port());
  REQUIRE(started.ok());
  FaultProxy& proxy = **started;
  const std::string msg = "0123456789abcdef";

  SECTION("pass") {
    int fd = Connect(proxy.port());
    REQUIRE(::send(fd, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size()));
    CHECK(ReadFor(fd, milliseconds(300)) == std::make_pair(msg, std::string()));
    ::close(fd);
    CHECK(proxy.stats().bytes_upstream == msg.size());
  }
  SECTION("delay holds each chunk back") {
    proxy.SetMode(FaultMode::kDelay);
    proxy.SetDelay(milliseconds(200));
    int fd = Connect(proxy.port());
    REQUIRE(::send(fd, msg.data(), msg.size(), 0) > 0);
    CHECK(ReadFor(fd, milliseconds(250)).first.empty());  // one delay up, one down
    CHECK(ReadFor(fd, milliseconds(500)).first == msg);
    ::close(fd);
  }
  SECTION("stall forwards nothing until the mode changes") {
    proxy.SetMode(FaultMode::kStall);
    int fd = Connect(proxy.port());
    REQUIRE(::send(fd, msg.data(), msg.size(), 0) > 0);
    CHECK(ReadFor(fd, milliseconds(300)) == std::make_pair(std::string(), std::string()));
    proxy.SetMode(FaultMode::kPass);
    CHECK(ReadFor(fd, milliseconds(300)).first == msg);
    ::close(fd);
  }
  SECTION("reset forwards half the request, then RST") {
    proxy.SetMode(FaultMode::kReset);
    int fd = Connect(proxy.port());
    REQUIRE(::send(fd, msg.data(), msg.size(), 0) > 0);
    CHECK(ReadFor(fd, milliseconds(500)).second == "reset");
    ::close(fd);
    CHECK(proxy.stats().bytes_upstream == msg.size() / 2);
    CHECK(proxy.stats().resets == 1);
  }
  SECTION("truncate forwards half the response, then closes") {
    proxy.SetMode(FaultMode::kTruncate);
    int fd = Connect(proxy.port());
    REQUIRE(::send(fd, msg.data(), msg.size(), 0) > 0);
    auto [got, end] = ReadFor(fd, milliseconds(500));
    CHECK(got == msg.substr(0, msg.size() / 2));
    CHECK(end == "eof");
    ::close(fd);
    CHECK(proxy.stats().truncations == 1);
  }
  SECTION("refuse resets new connections at once") {
    proxy.SetMode(FaultMode::kRefuse);
    int fd = Connect(proxy.port());
    CHECK(ReadFor(fd, milliseconds(500)).second == "reset");
    ::close(fd);
  }
  SECTION("stop returns while a connection is stalled") {
    proxy.SetMode(FaultMode::kStall);
    int fd = Connect(proxy.port());
    REQUIRE(::send(fd, msg.data(), msg.size(), 0) > 0);
    std::this_thread::sleep_for(milliseconds(50));
    proxy.Stop();
    ::close(fd);
  }
}

}  // namespace
}  // namespace tidegate::testing
