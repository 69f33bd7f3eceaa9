// SPDX-License-Identifier: Apache-2.0
#include "uplink/tls_handshake_watch.h"

#include <catch2/catch.hpp>

namespace tidegate::uplink {
namespace {

TEST_CASE("a certificate alert from the receiver means our client certificate was refused",
          "[uplink]") {
  TlsHandshakeWatch watch;
  for (int alert : {42, 48, 116}) {
    watch.alert_received = alert;
    CHECK(ClientCertificateRefused(watch, true));
    CHECK(ClientCertificateRefused(watch, false));
  }
  watch.alert_received = 0;  // close_notify says nothing about certificates
  CHECK_FALSE(ClientCertificateRefused(watch, true));
}

TEST_CASE("a connection dropped after a certificate request counts as a refused certificate",
          "[uplink]") {
  TlsHandshakeWatch watch;
  watch.certificate_requested = true;
  CHECK(ClientCertificateRefused(watch, true));
  CHECK_FALSE(ClientCertificateRefused(watch, false));  // e.g. refused connect, a timeout
  watch.Reset();
  CHECK_FALSE(ClientCertificateRefused(watch, true));  // nobody asked for one
}

}  // namespace
}  // namespace tidegate::uplink
