// SPDX-License-Identifier: Apache-2.0
// The MQTT source's reconnect policy, apart from libmosquitto so it can be unit tested: the
// backoff and log limiter (common/reconnect_backoff.h, shared with the MQTT uplink) and the
// hint for the usual TLS misconfigurations. Used by the MQTT network thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/reconnect_backoff.h"

namespace tidegate::agent {

using tidegate::ReconnectBackoff;

// Why an attempt failed, as far as it matters to the operator.
enum class ConnectFailureKind {
  kNetwork,              // no TCP connection (refused, unreachable, name not resolved)
  kClosedBeforeConnack,  // connected, then closed or garbled before the broker's CONNACK
  kTls,                  // the TLS handshake failed (certificate, protocol)
  kRefusedByBroker,      // CONNACK with a refusal reason (credentials, client id)
  kTimeout,              // no CONNACK within the connect timeout
};

using tidegate::FailureLogLimiter;

// What to check for this kind of failure, or "" when the reason says it all. tls_configured:
// source.mqtt.tls is set.
std::string_view ConnectHint(ConnectFailureKind kind, bool tls_configured);

}  // namespace tidegate::agent
