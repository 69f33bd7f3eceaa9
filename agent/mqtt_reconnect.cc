// SPDX-License-Identifier: Apache-2.0
#include "agent/mqtt_reconnect.h"

namespace tidegate::agent {

std::string_view ConnectHint(ConnectFailureKind kind, bool tls_configured) {
  switch (kind) {
    case ConnectFailureKind::kTls:
      return "the TLS handshake failed: does source.mqtt.tls.ca_file hold the CA that signed "
             "the broker's certificate, does the certificate name source.mqtt.host, and is "
             "this port a TLS listener?";
    case ConnectFailureKind::kClosedBeforeConnack:
      return tls_configured
                 ? "the broker closed the connection before answering: is this port a TLS "
                   "listener, and does the CA match?"
                 : "the broker closed the connection before answering: is this a TLS listener "
                   "(is source.mqtt.tls set)?";
    case ConnectFailureKind::kNetwork:
    case ConnectFailureKind::kRefusedByBroker:
    case ConnectFailureKind::kTimeout:
      break;
  }
  return "";
}

}  // namespace tidegate::agent
