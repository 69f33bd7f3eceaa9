// SPDX-License-Identifier: Apache-2.0
// RFC 6901 JSON Pointers as used by config field paths ("/user/email", "/tags/0").
// Parse once at config load; JsonPointer is immutable afterwards and safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate {

class JsonPointer {
 public:
  // "" is the whole document; otherwise the text must start with '/'. "~0" and "~1" are
  // unescaped to '~' and '/'; any other '~' sequence is an error.
  static Result<JsonPointer> Parse(std::string_view text);

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::string& text() const { return text_; }
  bool IsRoot() const { return tokens_.empty(); }

 private:
  std::string text_;
  std::vector<std::string> tokens_;
};

// True if token is a canonical array index ("0", "17"; not "01" or "-1"), stored in *index.
bool ParseArrayIndex(std::string_view token, size_t* index);

}  // namespace tidegate
