// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/peer_identity.h"

#include <openssl/x509v3.h>

#include <memory>

namespace tidegate::collector {
namespace {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

std::string Text(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
          static_cast<size_t>(ASN1_STRING_length(s))};
}

void AppendCommonNames(X509* cert, std::vector<std::string>* out) {
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    out->push_back(Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  }
}

void AppendAltNames(X509* cert, std::vector<std::string>* out) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS || name->type == GEN_URI || name->type == GEN_EMAIL) {
      out->push_back(Text(name->d.ia5));
    }
  }
}

}  // namespace

std::vector<std::string> CertificateIdentities(X509* cert) {
  std::vector<std::string> identities;
  if (cert == nullptr) return identities;
  AppendCommonNames(cert, &identities);
  AppendAltNames(cert, &identities);
  return identities;
}

std::vector<std::string> PeerIdentities(const SSL* ssl) {
  if (ssl == nullptr) return {};
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  return CertificateIdentities(cert.get());
}

}  // namespace tidegate::collector
