// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/peer_identity.h"

#include <openssl/pem.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>

#include "collector/test_util.h"

namespace tidegate::collector {
namespace {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};

std::unique_ptr<X509, X509Free> ReadPem(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f != nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert != nullptr);
  return std::unique_ptr<X509, X509Free>(cert);
}

TEST_CASE("a certificate's identities are its common name and its DNS alt names", "[collector]") {
  testing::ScratchDir dir;
  auto certs = testing::MakeCerts(dir.path());
  REQUIRE(certs.ok());
  CHECK(CertificateIdentities(ReadPem(certs->client_cert).get()) ==
        std::vector<std::string>{"tg-client"});
  // CN=localhost plus SAN DNS:localhost; the IP address SAN names no agent.
  CHECK(CertificateIdentities(ReadPem(certs->server_cert).get()) ==
        std::vector<std::string>{"localhost", "localhost"});
  CHECK(CertificateIdentities(nullptr).empty());
  CHECK(PeerIdentities(nullptr).empty());
}

}  // namespace
}  // namespace tidegate::collector
