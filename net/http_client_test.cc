// SPDX-License-Identifier: Apache-2.0
// HttpClient against a raw HTTP/1.1 server in the test that closes a kept-alive connection
// the way a server at its idle timeout or keep-alive limit does: after the next request has
// arrived, without answering it.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

namespace tidegate::net {
namespace {

// Reads one request (headers and a Content-Length body); false at end of stream.
bool ReadRequest(int fd) {
  std::string data;
  char buf[4096];
  size_t need = std::string::npos;
  while (need == std::string::npos || data.size() < need) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return false;
    data.append(buf, static_cast<size_t>(n));
    const size_t end = data.find("\r\n\r\n");
    if (need == std::string::npos && end != std::string::npos) {
      const size_t at = data.find("Content-Length: ");
      const size_t length = at == std::string::npos ? 0 : std::stoul(data.substr(at + 16));
      need = end + 4 + length;
    }
  }
  return true;
}

void Answer(int fd) {
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  REQUIRE(write(fd, ok.data(), ok.size()) == static_cast<ssize_t>(ok.size()));
}

// A listening socket on 127.0.0.1 and a free port.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    std::signal(SIGPIPE, SIG_IGN);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    REQUIRE(listen(fd, 4) == 0);
  }
  ~Listener() { close(fd); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port) + "/p"; }
};

HttpPost Post(const std::string& body) {
  HttpPost post;
  post.content_length = body.size();
  post.body = [body](size_t offset, size_t length, httplib::DataSink& sink) {
    sink.write(body.data() + offset, length);
    return true;
  };
  return post;
}

std::unique_ptr<HttpClient> Make(const std::string& url) {
  auto client = HttpClient::Create(
      url, {.connect_timeout = std::chrono::seconds(5), .io_timeout = std::chrono::seconds(10)});
  REQUIRE(client.ok());
  return std::move(*client);
}

TEST_CASE("a POST on a kept-alive connection the server dropped goes again on a new one", "[net]") {
  Listener listener;
  int accepted = 0;
  std::thread server([&] {
    int first = accept(listener.fd, nullptr, nullptr);
    ++accepted;
    if (ReadRequest(first)) Answer(first);
    ReadRequest(first);  // the second request arrives on the kept-alive connection...
    close(first);        // ...and the server closes it unanswered
    int second = accept(listener.fd, nullptr, nullptr);
    ++accepted;
    if (ReadRequest(second)) Answer(second);
    ReadRequest(second);  // until the client closes
    close(second);
  });
  auto client = Make(listener.Url());
  HttpPost post = Post(std::string(3000, 'a'));
  HttpAnswer one = client->Post(post, [] { return true; });
  CHECK(one.error == httplib::Error::Success);
  CHECK(one.status == 200);
  CHECK_FALSE(one.retried);
  HttpAnswer two = client->Post(post, [] { return true; });
  CHECK(two.error == httplib::Error::Success);
  CHECK(two.status == 200);
  CHECK(two.retried);
  client.reset();
  server.join();
  CHECK(accepted == 2);
}

TEST_CASE("a fresh connection that fails, or a retry the caller forbids, is not repeated",
          "[net]") {
  Listener listener;
  std::thread server([&] {
    int first = accept(listener.fd, nullptr, nullptr);
    ReadRequest(first);
    close(first);  // a fresh connection dropped: a real failure
    int second = accept(listener.fd, nullptr, nullptr);
    if (ReadRequest(second)) Answer(second);
    ReadRequest(second);
    close(second);  // the kept-alive one dropped, but the caller's deadline has passed
  });
  auto client = Make(listener.Url());
  HttpPost post = Post("x");
  HttpAnswer one = client->Post(post, [] { return true; });
  CHECK(one.error != httplib::Error::Success);
  CHECK_FALSE(one.retried);
  CHECK(client->Post(post, [] { return true; }).status == 200);
  HttpAnswer three = client->Post(post, [] { return false; });
  CHECK(three.error != httplib::Error::Success);
  CHECK_FALSE(three.retried);
  server.join();
}

TEST_CASE("after Stop every POST fails at once", "[net]") {
  auto client = Make("http://127.0.0.1:1/p");
  client->Stop();
  HttpPost post = Post("x");
  CHECK(client->Post(post, [] { return true; }).error == httplib::Error::Canceled);
}

}  // namespace
}  // namespace tidegate::net
