// SPDX-License-Identifier: Apache-2.0
#include "tests/support/notify_listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace tidegate::testing {
namespace {

constexpr int kPollMs = 50;

}  // namespace

std::optional<std::string> NotifyMessage::Value(std::string_view key) const {
  std::string_view rest(text);
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=') {
      return std::string(line.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<NotifyListener>> NotifyListener::Bind(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("notify socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IOError("socket: " + std::generic_category().message(errno));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return IOError("bind " + path + ": " + std::generic_category().message(err));
  }
  return std::unique_ptr<NotifyListener>(new NotifyListener(path, fd));
}

NotifyListener::NotifyListener(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  thread_ = std::thread([this] { Receive(); });
}

NotifyListener::~NotifyListener() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void NotifyListener::Receive() {
  std::array<char, 4096> buf{};
  while (!stop_) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    messages_.push_back(NotifyMessage{.at = std::chrono::steady_clock::now(),
                                      .text = std::string(buf.data(), static_cast<size_t>(n))});
  }
}

std::vector<NotifyMessage> NotifyListener::Messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

std::vector<NotifyMessage> NotifyListener::With(std::string_view key) const {
  std::vector<NotifyMessage> out;
  for (NotifyMessage& m : Messages()) {
    if (m.Value(key)) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace tidegate::testing
