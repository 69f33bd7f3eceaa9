// SPDX-License-Identifier: Apache-2.0
#include "uplink/tls_handshake_watch.h"

namespace tidegate::uplink {
namespace {

constexpr unsigned char kCertificateRequest = 13;  // TLS handshake message type

// TLS alert descriptions about the client's certificate (RFC 8446 section 6.2).
bool IsCertificateAlert(int description) {
  switch (description) {
    case 42:   // bad_certificate
    case 43:   // unsupported_certificate
    case 44:   // certificate_revoked
    case 45:   // certificate_expired
    case 46:   // certificate_unknown
    case 48:   // unknown_ca
    case 49:   // access_denied
    case 116:  // certificate_required
      return true;
    default:
      return false;
  }
}

void OnTlsMessage(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                  SSL* /*ssl*/, void* arg) {
  if (write_p != 0 || arg == nullptr || len == 0) return;
  auto* watch = static_cast<TlsHandshakeWatch*>(arg);
  const auto* bytes = static_cast<const unsigned char*>(buf);
  if (content_type == SSL3_RT_HANDSHAKE && bytes[0] == kCertificateRequest) {
    watch->certificate_requested = true;
  } else if (content_type == SSL3_RT_ALERT && len >= 2) {
    watch->alert_received = bytes[1];
  }
}

}  // namespace

void TlsHandshakeWatch::Install(SSL_CTX* ctx, TlsHandshakeWatch* watch) {
  SSL_CTX_set_msg_callback(ctx, OnTlsMessage);
  SSL_CTX_set_msg_callback_arg(ctx, watch);
}

bool ClientCertificateRefused(const TlsHandshakeWatch& watch, bool dropped) {
  if (watch.alert_received >= 0 && IsCertificateAlert(watch.alert_received)) return true;
  return watch.certificate_requested && dropped;
}

}  // namespace tidegate::uplink
