// SPDX-License-Identifier: Apache-2.0
// HttpServer: the collector's HTTP(S) front, the only file that includes cpp-httplib. It
// routes /v1/batches, /v1/stats and /healthz to a BatchEndpoint (and /v1/opamp to an
// OpampEndpoint), terminates TLS (optionally
// requiring client certificates) and logs one debug line per request. Run() blocks on the
// calling thread and serves from httplib's worker pool; Stop() may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "collector/sources/batch_endpoint.h"
#include "collector/sources/opamp_endpoint.h"
#include "common/status.h"

namespace tidegate::collector {

struct HttpServerOptions {
  std::string host{};  // as for getaddrinfo: "127.0.0.1", "::1", "0.0.0.0", "localhost"
  int port = 0;        // 0 picks a free port; Bind() returns it
  // PEM certificate chain and key; both empty serves plain HTTP (local testing only).
  std::string tls_cert{};
  std::string tls_key{};
  // PEM CA bundle; when set, clients must present a certificate it verifies.
  std::string client_ca{};
};

class HttpServer {
 public:
  // `endpoint` must outlive the server. kInvalidArgument for a certificate, key or CA file
  // that cannot be loaded (the message says which and why).
  static Result<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                    BatchEndpoint& endpoint);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Also routes POST /v1/opamp to `opamp` (serve --config-dir), behind the same client
  // certificate check. `opamp` must outlive the server. REQUIRES: called before Bind().
  void ServeOpamp(OpampEndpoint& opamp);

  // Binds and listens; returns the port. kUnavailable if the address cannot be bound.
  Result<int> Bind();

  // Accepts and serves until Stop(); returns after in-flight requests have finished.
  // REQUIRES: Bind() succeeded.
  Status Run();

  // Stops accepting; Run() returns once the workers are done. Thread-safe, idempotent.
  void Stop();

  bool tls() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidegate::collector
