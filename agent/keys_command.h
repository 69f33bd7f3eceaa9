// SPDX-License-Identifier: Apache-2.0
// `tidegate keys init` and `tidegate keys rotate`: create and rotate the agent's secrets.
// Every file is written with mode 0600 through a temp file and rename. Keys are never
// printed. Called from main only.
#pragma once

#include <string>

namespace tidegate::agent {

// Creates in dir: token.keys (token key `key_id`, current), signing.key/signing.pub (Ed25519,
// for signing config bundles), recipient.key/recipient.pub (X25519: the cloud keeps the
// secret, gateways get recipient.pub for privacy.recipient_public_key). Refuses to overwrite
// existing files unless force. Returns the exit code.
int KeysInit(const std::string& dir, const std::string& key_id, bool force);

// Adds a new current token key new_id to key_file; the old current key is kept as retired.
int KeysRotate(const std::string& key_file, const std::string& new_id);

}  // namespace tidegate::agent
