// SPDX-License-Identifier: Apache-2.0
// HttpsPoster: the OpAMP client's HTTP(S) POST over cpp-httplib (net::HttpClient), with the
// uplink's TLS settings (uplink.tls: ca_file, cert_file, key_file), connect and request
// timeouts and a bound on the answer's size. Keeps one kept-alive connection. Not
// thread-safe except Interrupt().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/config.h"
#include "remote/opamp/http_poster.h"

namespace tidegate::remote::opamp {

struct HttpsPosterOptions {
  std::string url{};  // http:// or https://.../v1/opamp
  TlsSection tls{};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  size_t max_response_bytes = 1 << 20;
};

// kInvalidArgument for a url that is not http(s)://host[:port][/path].
Result<std::unique_ptr<HttpPoster>> NewHttpsPoster(const HttpsPosterOptions& options);

}  // namespace tidegate::remote::opamp
