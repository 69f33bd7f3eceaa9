// SPDX-License-Identifier: Apache-2.0
// HttpUrl: an http:// or https:// url split into what a client connects to and the path it
// requests. No user info, no fragment; the host may be a name, an IPv4 address or a
// bracketed IPv6 address.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::net {

struct HttpUrl {
  bool tls = false;
  std::string host;
  int port = 0;
  std::string path;  // "/" when the url has none; keeps any query
};

// kInvalidArgument for another scheme, an empty host, a bad port or user info.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace tidegate::net
