// SPDX-License-Identifier: Apache-2.0
#include "tests/support/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

// Owns a socket descriptor.
class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

int FreeTcpPort() {
  Socket sock;
  if (sock.fd() < 0) return 0;
  sockaddr_in addr = Loopback(0);
  if (::bind(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 0;
  socklen_t len = sizeof(addr);
  if (::getsockname(sock.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

bool TcpPortAcceptsConnections(int port) {
  Socket sock;
  if (sock.fd() < 0) return false;
  sockaddr_in addr = Loopback(port);
  return ::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

bool WaitForTcpPort(int port, std::chrono::milliseconds timeout) {
  return WaitUntil([port] { return TcpPortAcceptsConnections(port); }, timeout,
                   std::chrono::milliseconds(10));
}

}  // namespace tidegate::testing
