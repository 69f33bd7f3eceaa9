// SPDX-License-Identifier: Apache-2.0
#include "tests/support/certs.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <system_error>
#include <vector>

#include "tests/support/faketime.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace tidegate::testing {
namespace {

// Our own config, so the result does not depend on the system's /etc/ssl/openssl.cnf.
constexpr const char* kOpensslConfig = R"(# Written by tidegate's test support (certs.cc).
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

Status Openssl(std::vector<std::string> args, const ProcessOptions& options) {
  args.insert(args.begin(), "openssl");
  TG_ASSIGN_OR_RETURN(CommandResult run, RunCommand(args, std::chrono::seconds(30), options));
  if (run.exit_code != 0) {
    return Internal(JoinArgv(args) + " exited " + std::to_string(run.exit_code) + ": " +
                    run.stderr_text);
  }
  return Status::Ok();
}

Status RestrictKey(const std::string& key) {
  if (::chmod(key.c_str(), 0600) != 0) {
    return IOError("chmod 0600 " + key + ": " + std::generic_category().message(errno));
  }
  return Status::Ok();
}

std::vector<std::string> NewKeyArgs(const std::string& key) {
  return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key};
}

Status MakeCa(const std::string& config, const std::string& cn, const std::string& cert,
              const std::string& key, const ProcessOptions& run) {
  std::vector<std::string> args = {"req",         "-config", config, "-x509", "-new",
                                   "-sha256",     "-days",   "3650", "-subj", "/CN=" + cn,
                                   "-extensions", "ca_ext",  "-out", cert};
  std::vector<std::string> key_args = NewKeyArgs(key);
  args.insert(args.end(), key_args.begin(), key_args.end());
  TG_RETURN_IF_ERROR(Openssl(args, run));
  return RestrictKey(key);
}

struct LeafSpec {
  std::string cn;
  std::string extensions;  // section of kOpensslConfig
  std::string serial;
  std::string cert;
  std::string key;
};

Status MakeLeaf(const std::string& config, const std::string& ca_cert, const std::string& ca_key,
                const LeafSpec& leaf, const ProcessOptions& run) {
  const std::string csr = leaf.cert + ".csr";
  std::vector<std::string> args = {"req",   "-config",        config, "-new",
                                   "-subj", "/CN=" + leaf.cn, "-out", csr};
  std::vector<std::string> key_args = NewKeyArgs(leaf.key);
  args.insert(args.end(), key_args.begin(), key_args.end());
  TG_RETURN_IF_ERROR(Openssl(args, run));
  TG_RETURN_IF_ERROR(RestrictKey(leaf.key));
  return Openssl({"x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
                  leaf.serial, "-sha256", "-days", "3650", "-extfile", config, "-extensions",
                  leaf.extensions, "-out", leaf.cert},
                 run);
}

}  // namespace

Result<TestCerts> MakeTestCerts(const std::string& dir, int backdate_days) {
  ProcessOptions run;
  if (backdate_days > 0) {
    // openssl 3.0 cannot set notBefore itself: it runs with its wall clock set back.
    TG_ASSIGN_OR_RETURN(std::string lib, LibFaketimePath());
    run.env = {{"LD_PRELOAD", lib}, {"FAKETIME", "-" + std::to_string(backdate_days) + "d"}};
  }
  const std::string config = dir + "/openssl.cnf";
  TG_RETURN_IF_ERROR(WriteFile(config, kOpensslConfig));
  TestCerts c{
      .ca_cert = dir + "/ca.crt",
      .ca_key = dir + "/ca.key",
      .server_cert = dir + "/server.crt",
      .server_key = dir + "/server.key",
      .client_cert = dir + "/client.crt",
      .client_key = dir + "/client.key",
      .untrusted_ca_cert = dir + "/untrusted-ca.crt",
      .untrusted_server_cert = dir + "/untrusted-server.crt",
      .untrusted_server_key = dir + "/untrusted-server.key",
      .untrusted_client_cert = dir + "/untrusted-client.crt",
      .untrusted_client_key = dir + "/untrusted-client.key",
  };
  const std::string untrusted_ca_key = dir + "/untrusted-ca.key";
  TG_RETURN_IF_ERROR(MakeCa(config, "tidegate-test-ca", c.ca_cert, c.ca_key, run));
  TG_RETURN_IF_ERROR(MakeLeaf(config, c.ca_cert, c.ca_key,
                              {"localhost", "server_ext", "1", c.server_cert, c.server_key}, run));
  TG_RETURN_IF_ERROR(
      MakeLeaf(config, c.ca_cert, c.ca_key,
               {"tidegate-test-client", "client_ext", "2", c.client_cert, c.client_key}, run));
  TG_RETURN_IF_ERROR(
      MakeCa(config, "tidegate-untrusted-ca", c.untrusted_ca_cert, untrusted_ca_key, run));
  TG_RETURN_IF_ERROR(MakeLeaf(
      config, c.untrusted_ca_cert, untrusted_ca_key,
      {"localhost", "server_ext", "1", c.untrusted_server_cert, c.untrusted_server_key}, run));
  TG_RETURN_IF_ERROR(MakeLeaf(
      config, c.untrusted_ca_cert, untrusted_ca_key,
      {"tidegate-test-client", "client_ext", "2", c.untrusted_client_cert, c.untrusted_client_key},
      run));
  return c;
}

Result<CertAndKey> MakeClientCert(const std::string& dir, const TestCerts& certs,
                                  const std::string& cn, int serial) {
  const std::string config = dir + "/openssl.cnf";
  TG_RETURN_IF_ERROR(WriteFile(config, kOpensslConfig));
  CertAndKey out{.cert = dir + "/" + cn + ".crt", .key = dir + "/" + cn + ".key"};
  TG_RETURN_IF_ERROR(MakeLeaf(config, certs.ca_cert, certs.ca_key,
                              {cn, "client_ext", std::to_string(serial), out.cert, out.key}, {}));
  return out;
}

}  // namespace tidegate::testing
