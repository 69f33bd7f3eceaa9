// SPDX-License-Identifier: Apache-2.0
#include "net/http_url.h"

#include <catch2/catch.hpp>

namespace tidegate::net {
namespace {

TEST_CASE("http and https urls split into scheme, host, port and path", "[net]") {
  auto a = ParseHttpUrl("https://collector.example:8443/v1/batches");
  REQUIRE(a.ok());
  CHECK(a->tls);
  CHECK(a->host == "collector.example");
  CHECK(a->port == 8443);
  CHECK(a->path == "/v1/batches");
  auto b = ParseHttpUrl("http://127.0.0.1");
  REQUIRE(b.ok());
  CHECK_FALSE(b->tls);
  CHECK(b->port == 80);
  CHECK(b->path == "/");
  auto c = ParseHttpUrl("https://[::1]/v1/opamp?x=1#frag");
  REQUIRE(c.ok());
  CHECK(c->host == "::1");
  CHECK(c->port == 443);
  CHECK(c->path == "/v1/opamp?x=1");
}

TEST_CASE("urls a client cannot use are refused", "[net]") {
  for (const char* url :
       {"ftp://host/", "https://", "https://:80/", "https://host:0/", "https://host:70000/",
        "https://host:8x/", "https://user@host/", "https://[::1/"}) {
    INFO(url);
    CHECK_FALSE(ParseHttpUrl(url).ok());
  }
}

}  // namespace
}  // namespace tidegate::net
