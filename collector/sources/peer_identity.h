// SPDX-License-Identifier: Apache-2.0
// The identities a client certificate asserts, for `serve --client-ca`: a batch is accepted
// only from a certificate naming its agent_id (SPEC). Pure functions of the certificate.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

namespace tidegate::collector {

// The subject's common names and the DNS, URI and email subjectAltNames, as text. Empty
// for a null certificate.
std::vector<std::string> CertificateIdentities(X509* cert);

// CertificateIdentities of the verified peer certificate of a TLS connection; empty when
// the peer sent none.
std::vector<std::string> PeerIdentities(const SSL* ssl);

}  // namespace tidegate::collector
