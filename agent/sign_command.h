// SPDX-License-Identifier: Apache-2.0
// `tidegate config sign`: wraps a config file into a signed bundle (remote/bundle.h) and
// prints it on stdout, for an operator's machine, never a gateway. Called from main only.
#pragma once

#include <cstdint>
#include <string>

namespace tidegate::agent {

struct SignOptions {
  std::string key_file;     // Ed25519 secret key (signing.key from `keys init`), mode 0600
  int64_t version = 0;      // 1..2^53, above every version the agents have accepted
  std::string agent = "*";  // one agent.id, or "*" for every agent
  std::string config_file;  // the YAML to sign; validated as `config check --no-files`
};

// Returns the exit code: 0 with the bundle on stdout, 2 on bad usage, an unreadable key or
// config file, or an invalid config (messages on stderr name the file), 1 otherwise.
int ConfigSign(const SignOptions& options);

}  // namespace tidegate::agent
