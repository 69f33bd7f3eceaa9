// SPDX-License-Identifier: Apache-2.0
// `tidegate-collector serve`: opens the landing store, serves HTTP(S) until SIGTERM or
// SIGINT, announces the bound address on stdout (and in a ready file) for scripts and tests.
// RunServe runs on the main thread and owns every thread it starts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "collector/exit_codes.h"
#include "collector/intake/batch_intake.h"
#include "common/status.h"

namespace tidegate::collector {

struct ServeOptions {
  std::string listen;  // host:port, [v6-host]:port; port 0 picks a free one
  // A directory (created if missing; holds landing.db) or a postgresql:// URL.
  std::string store;
  std::string tls_cert;  // both empty: plain HTTP
  std::string tls_key;
  std::string client_ca;   // empty: no client certificates asked for
  std::string ready_file;  // empty: none written
  // Non-empty: keep every batch body as received in DIR/<batch_id>.tgb.zst (created if
  // missing) before processing it; a debugging and audit aid, see raw_archive.h.
  std::string keep_raw_dir;
  // Non-empty: the recipient's X25519 secret key (recipient.key of `tidegate keys init`);
  // encrypted fields are opened before they land. Empty: they land opaque.
  std::string recipient_key;
  // Non-empty: OpAMP bundles to offer on POST /v1/opamp, DIR/<agent_id>.json else
  // DIR/all.json (must exist). /v1/opamp records agents' reports either way.
  std::string config_dir;
  // zstd dictionaries (--dictionary, repeatable) for batches compressed with one; each is
  // picked by the dictionary ID its frames name.
  std::vector<std::string> dictionaries;
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  // --mqtt mqtts://HOST:PORT: also consume batches from the cloud broker (empty: HTTPS
  // only). The other mqtt_* fields are then required, except mqtt_client_id.
  std::string mqtt_url;
  std::string mqtt_group;
  std::string mqtt_ca;
  std::string mqtt_cert;
  std::string mqtt_key;
  std::string mqtt_client_id;  // empty: tidegate-collector-<group>-<hostname>
  std::string log_level = "info";
  std::string log_format = "logfmt";
};

struct ListenAddress {
  std::string host;          // for getaddrinfo, IPv6 brackets removed
  std::string display_host;  // as the user wrote it, for the announcement line
  int port = 0;
};

// Parses "host:port", "[::1]:port". kInvalidArgument names what is wrong.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Writes "PORT\n" to path atomically (a temporary file in the same directory, renamed).
Status WriteReadyFile(const std::string& path, int port);

// Runs the server; returns kExitOk after a clean shutdown on SIGTERM/SIGINT, kExitUsage
// for an invalid --listen or log level, kExitFailure for anything else (message on stderr).
int RunServe(const ServeOptions& options);

}  // namespace tidegate::collector
