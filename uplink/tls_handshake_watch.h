// SPDX-License-Identifier: Apache-2.0
// TlsHandshakeWatch: what the receiver said in the TLS handshake of the last send, seen
// through OpenSSL's message callback on libcurl's SSL_CTX: whether it asked for a client
// certificate, and the last alert it sent. With TLS 1.3 a server that refuses our client
// certificate just drops the connection after the handshake, and libcurl reports a plain
// send or receive error; this is how the transport tells the two apart. Owned by one
// HttpsTransport; used by the uplink thread only.
#pragma once

#include <curl/curl.h>

namespace tidegate::uplink {

struct TlsHandshakeWatch {
  bool certificate_requested = false;  // the receiver sent a CertificateRequest
  int alert_received = -1;             // TLS alert description from the receiver, -1: none

  void Reset() {
    certificate_requested = false;
    alert_received = -1;
  }

  // Installs the watch (passed as `watch`) on the SSL_CTX of each new connection; use as
  // CURLOPT_SSL_CTX_FUNCTION with CURLOPT_SSL_CTX_DATA = the watch.
  static CURLcode Install(CURL* curl, void* ssl_ctx, void* watch);
};

// True if a send that ended with `rc` looks like the receiver refusing our client
// certificate: it sent a certificate alert, or it asked for a certificate and then
// dropped the connection without an HTTP answer.
bool ClientCertificateRefused(const TlsHandshakeWatch& watch, CURLcode rc);

}  // namespace tidegate::uplink
