// SPDX-License-Identifier: Apache-2.0
#include "common/json_pointer.h"

namespace tidegate {

Result<JsonPointer> JsonPointer::Parse(std::string_view text) {
  JsonPointer pointer;
  pointer.text_ = std::string(text);
  if (text.empty()) return pointer;
  if (text[0] != '/') {
    return InvalidArgument("JSON Pointer '" + pointer.text_ + "' must start with '/'");
  }
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      pointer.tokens_.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (text[i] != '~') {
      token.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
      token.push_back(text[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    return InvalidArgument("JSON Pointer '" + pointer.text_ + "' has a bad '~' escape");
  }
  return pointer;
}

bool ParseArrayIndex(std::string_view token, size_t* index) {
  if (token.empty() || token.size() > 9) return false;
  if (token.size() > 1 && token[0] == '0') return false;
  size_t value = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  *index = value;
  return true;
}

}  // namespace tidegate
