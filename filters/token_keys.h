// SPDX-License-Identifier: Apache-2.0
// TokenKeySet: the keys that make tokens, read from privacy.key_file. One key is current
// (new tokens use it); retired keys stay listed so tokens made earlier can be reproduced and
// their key id resolved. File format, one key per line ('#' starts a comment):
//   <key_id> <64 hex chars: 32-byte key> current|retired
// The file must be mode 0600 (no group or other access). Immutable after load; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::filters {

struct TokenKey {
  std::string id;  // [A-Za-z0-9_-]{1,32}, carried in every token
  std::array<uint8_t, 32> key{};
  bool current = false;
};

class TokenKeySet {
 public:
  // Parses the text of a key file; source names it in messages. Exactly one key must be
  // current; ids are unique. Key bytes never appear in messages.
  static Result<TokenKeySet> Parse(std::string_view text, const std::string& source);
  // Reads path, refusing a file readable or writable by group or others.
  static Result<TokenKeySet> Load(const std::string& path);

  const TokenKey& current() const { return keys_[current_]; }
  const std::vector<TokenKey>& keys() const { return keys_; }
  // nullptr if no key has this id.
  const TokenKey* Find(std::string_view id) const;

  // The file text for these keys (used by `keys init` and `keys rotate`).
  std::string Serialize() const;
  // Adds a new random key with the given id as current; the old current becomes retired.
  Status Rotate(const std::string& new_id);
  // A fresh set with one random current key.
  static TokenKeySet Generate(const std::string& id);

 private:
  std::vector<TokenKey> keys_;
  size_t current_ = 0;
};

// Refuses a secret file with any group/other permission bits; says which mode it has. Shared
// by `run` and `config check`: "key file F has mode 0644: it must not be readable by group or
// others (chmod 600 F)", or "cannot open 'F': <errno text>" (kNotFound) if it cannot stat F.
Status CheckPrivateFileMode(const std::string& path);

// kNotFound / kIOError "cannot open 'F': No such file or directory" (the errno text) unless F
// opens for reading and is not a directory.
Status CheckReadableFile(const std::string& path);

// Reads a whole file (for key files; small). kNotFound / kIOError, failing to open as
// CheckReadableFile.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes = 1 << 20);

// Writes text to path with mode 0600, atomically (temp file + rename).
Status WritePrivateFile(const std::string& path, std::string_view text);

}  // namespace tidegate::filters
