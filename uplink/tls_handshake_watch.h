// SPDX-License-Identifier: Apache-2.0
// TlsHandshakeWatch: what the receiver said in the TLS handshake of the last send, seen
// through OpenSSL's message callback on the client's SSL_CTX: whether it asked for a client
// certificate, and the last alert it sent. With TLS 1.3 a server that refuses our client
// certificate just drops the connection after the handshake, which the client sees as a
// plain read or write error; this is how the transport tells the two apart. Owned by one
// HttpsTransport; used by its sending thread only.
#pragma once

#include <openssl/ssl.h>

namespace tidegate::uplink {

struct TlsHandshakeWatch {
  bool certificate_requested = false;  // the receiver sent a CertificateRequest
  int alert_received = -1;             // TLS alert description from the receiver, -1: none

  void Reset() {
    certificate_requested = false;
    alert_received = -1;
  }

  // Installs `watch` on `ctx`: every connection made from it afterwards reports to it. The
  // watch must outlive the context's connections.
  static void Install(SSL_CTX* ctx, TlsHandshakeWatch* watch);
};

// True if a send looks like the receiver refusing our client certificate: it sent a
// certificate alert, or it asked for a certificate and then dropped the connection
// (`dropped`: a TLS or socket read/write error with no HTTP answer).
bool ClientCertificateRefused(const TlsHandshakeWatch& watch, bool dropped);

}  // namespace tidegate::uplink
