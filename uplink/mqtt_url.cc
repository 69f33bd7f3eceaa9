// SPDX-License-Identifier: Apache-2.0
#include "uplink/mqtt_url.h"

#include <charconv>

namespace tidegate::uplink {
namespace {

constexpr std::string_view kScheme = "mqtts://";
constexpr size_t kMaxHostBytes = 253;  // the longest DNS name

bool HostCharOk(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == ':';
}

}  // namespace

Result<MqttAddress> ParseMqttsUrl(std::string_view url) {
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument("must be mqtts://HOST:PORT");
  }
  std::string_view rest = url.substr(kScheme.size());
  MqttAddress out;
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return InvalidArgument("must be mqtts://[IPV6]:PORT for an IPv6 address");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return InvalidArgument("must be mqtts://HOST:PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return InvalidArgument("must be mqtts://HOST:PORT (an IPv6 address goes in brackets)");
    }
  }
  if (host.empty() || host.size() > kMaxHostBytes) {
    return InvalidArgument("must be mqtts://HOST:PORT with a host of 1-253 characters");
  }
  for (char c : host) {
    if (!HostCharOk(c)) {
      return InvalidArgument("must be mqtts://HOST:PORT, nothing else (no user, path or query)");
    }
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return InvalidArgument("must be mqtts://HOST:PORT with a port of 1-65535");
  }
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(value);
  return out;
}

}  // namespace tidegate::uplink
