// SPDX-License-Identifier: Apache-2.0
// The MQTT uplink's address, uplink.url = mqtts://HOST:PORT: parsed once for the config
// check (which names the key) and for the transport. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::uplink {

struct MqttAddress {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  uint16_t port = 0;
};

// Accepts exactly mqtts://HOST:PORT (IPv6 as [ADDR]:PORT); no user, path, query or plain
// mqtt:// (the uplink is always TLS). InvalidArgument says what is wrong.
Result<MqttAddress> ParseMqttsUrl(std::string_view url);

}  // namespace tidegate::uplink
