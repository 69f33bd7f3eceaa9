// SPDX-License-Identifier: Apache-2.0
#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kPollMs = 20;
constexpr size_t kChunkBytes = size_t{16} * 1024;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Closes with RST instead of FIN: SO_LINGER on with a zero timeout.
void CloseWithReset(int fd) {
  if (fd < 0) return;
  linger lin{};
  lin.l_onoff = 1;
  lin.l_linger = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
  ::close(fd);
}

void SetSendTimeout(int fd) {
  timeval tv{};
  tv.tv_usec = 200'000;  // a blocked send re-checks stop_ this often
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

std::string_view FaultModeName(FaultMode mode) {
  switch (mode) {
    case FaultMode::kPass:
      return "pass";
    case FaultMode::kDelay:
      return "delay";
    case FaultMode::kStall:
      return "stall";
    case FaultMode::kReset:
      return "reset";
    case FaultMode::kTruncate:
      return "truncate";
    case FaultMode::kRefuse:
      return "refuse";
  }
  return "?";
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int target_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IOError(std::string("socket: ") + std::generic_category().message(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::generic_category().message(errno);
    ::close(fd);
    return IOError("fault proxy cannot listen: " + why);
  }
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(fd, ntohs(addr.sin_port), target_port));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultProxy::FaultProxy(int listen_fd, int port, int target_port)
    : listen_fd_(listen_fd), port_(port), target_port_(target_port) {}

FaultProxy::~FaultProxy() { Stop(); }

void FaultProxy::Stop() {
  if (stop_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> relays;
  {
    std::lock_guard<std::mutex> lock(mu_);
    relays.swap(relays_);
  }
  for (std::thread& t : relays) t.join();
}

FaultProxyStats FaultProxy::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void FaultProxy::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    stats_.connections++;
    relays_.emplace_back([this, client] { Relay(client); });
  }
}

int FaultProxy::ConnectTarget() {
  int port = target_port_;
  if (port == 0) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void FaultProxy::CountForwarded(bool upstream, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (upstream) {
    auto now = std::chrono::steady_clock::now();
    if (stats_.bytes_upstream == 0) stats_.first_upstream = now;
    stats_.last_upstream = now;
    stats_.bytes_upstream += n;
  } else {
    stats_.bytes_downstream += n;
  }
}

void FaultProxy::Relay(int client) {
  int target = mode_ == FaultMode::kRefuse ? -1 : ConnectTarget();
  if (target < 0) {
    CloseWithReset(client);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.resets++;
    return;
  }
  SetSendTimeout(client);
  SetSendTimeout(target);
  bool stalled = false;
  bool open = true;
  while (open && !stop_) {
    if (mode_ == FaultMode::kStall) {
      if (!stalled) {
        stalled = true;
        std::lock_guard<std::mutex> lock(mu_);
        stats_.stalled_connections++;
      }
      std::this_thread::sleep_for(milliseconds(kPollMs));
      continue;
    }
    pollfd fds[2] = {{client, POLLIN, 0}, {target, POLLIN, 0}};
    if (::poll(fds, 2, kPollMs) <= 0) continue;
    if (fds[0].revents != 0) open = Forward(client, target, true);
    if (open && fds[1].revents != 0) open = Forward(target, client, false);
  }
  if (open) {  // stopped: end both quietly
    ::close(client);
    ::close(target);
  }
}

bool FaultProxy::Forward(int from, int to, bool upstream) {
  char buf[kChunkBytes];
  ssize_t n = ::recv(from, buf, sizeof(buf), 0);
  if (n <= 0) {
    ::close(from);
    ::close(to);
    return false;
  }
  auto len = static_cast<size_t>(n);
  FaultMode mode = mode_;
  const bool cut = (mode == FaultMode::kReset && upstream) ||
                   (mode == FaultMode::kTruncate && !upstream) || mode == FaultMode::kRefuse;
  if (mode == FaultMode::kDelay) {
    const auto until = std::chrono::steady_clock::now() + milliseconds(delay_ms_.load());
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    std::lock_guard<std::mutex> lock(mu_);
    stats_.delayed_chunks++;
  }
  if (cut) len /= 2;
  for (size_t sent = 0; sent < len && !stop_;) {
    ssize_t w = ::send(to, buf + sent, len - sent, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (w <= 0) {
      CloseWithReset(from);
      CloseWithReset(to);
      return false;
    }
    sent += static_cast<size_t>(w);
    CountForwarded(upstream, static_cast<size_t>(w));
  }
  if (!cut) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (mode == FaultMode::kTruncate) {
    // A short response followed by an orderly close, as a crashing server would leave it.
    ::shutdown(to, SHUT_RDWR);
    ::close(to);
    CloseWithReset(from);
    stats_.truncations++;
  } else {
    CloseWithReset(from);
    CloseWithReset(to);
    stats_.resets++;
  }
  return false;
}

}  // namespace tidegate::testing
