// SPDX-License-Identifier: Apache-2.0
// Real X.509 material for TLS tests, made with the openssl CLI (EC P-256, SHA-256, valid
// for ten years from now): a CA, a server certificate for localhost / 127.0.0.1 and a client
// certificate it signed, plus an unrelated CA with its own server and client certificates
// for "untrusted peer" tests. Every field is an absolute path to a PEM file; keys are mode
// 0600. Takes about 0.1-0.2 s. Thread-safe if each call gets its own directory.
#pragma once

#include <string>

#include "common/status.h"

namespace tidegate::testing {

struct TestCerts {
  std::string ca_cert;
  std::string ca_key;
  // CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1, extendedKeyUsage serverAuth.
  std::string server_cert;
  std::string server_key;
  // CN=tidegate-test-client, extendedKeyUsage clientAuth.
  std::string client_cert;
  std::string client_key;
  // A second, independent CA that nothing trusts, and leaves it signed (same names as above).
  std::string untrusted_ca_cert;
  std::string untrusted_server_cert;
  std::string untrusted_server_key;
  std::string untrusted_client_cert;
  std::string untrusted_client_key;
};

// Writes all files (and an openssl.cnf and CSRs) into `dir`, which must exist. Errors name
// the failing openssl command and carry its stderr. backdate_days > 0: every certificate is
// valid from that many days ago (made under libfaketime, see faketime.h), for tests that set
// a process's wall clock back.
Result<TestCerts> MakeTestCerts(const std::string& dir, int backdate_days = 0);

struct CertAndKey {
  std::string cert;
  std::string key;
};

// One more client certificate (CN=`cn`, extendedKeyUsage clientAuth, serial `serial`) signed
// by certs.ca_cert, written to <dir>/<cn>.crt and .key, e.g. one per gateway id for a broker
// that takes the CN as the user name. REQUIRES: `cn` is a plain file name; `serial` differs
// from the serials above (1, 2) and from every other certificate of this CA.
Result<CertAndKey> MakeClientCert(const std::string& dir, const TestCerts& certs,
                                  const std::string& cn, int serial);

}  // namespace tidegate::testing
