// SPDX-License-Identifier: Apache-2.0
// The effective config the agent reports over OpAMP (remote::EffectiveConfigSource): the
// loaded YAML with every secret and every file system path taken out, so a fleet manager
// sees the settings but never a password, a key, a token or where one is kept.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::agent {

inline constexpr char kRedacted[] = "<redacted>";

// Returns `yaml` re-emitted (comments dropped) with:
// - the value (scalar or whole subtree) of every key named password, secret, token,
//   passphrase, credentials or key, or ending in _file, _key, _dir, _path, _password,
//   _secret or _token, replaced by "<redacted>";
// - any other scalar that is an absolute path ("/...") replaced likewise;
// - user:password@ and ?query removed from scalars that are URLs ("scheme://...").
// kInvalidArgument for text that is not YAML, above 1 MiB or nested deeper than 64 levels.
Result<std::string> RedactEffectiveConfig(std::string_view yaml);

}  // namespace tidegate::agent
