// SPDX-License-Identifier: Apache-2.0
// Writing JSON strings: escaping for NDJSON output (collector dump, inspect, simulator log).
// Input must be valid UTF-8 (callers validate untrusted bytes first); control characters
// and DEL are written as \u00XX (logfmt's quoted values use the same escapes). Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tidegate {

// Appends "text" with quotes and escapes to *out.
void AppendJsonString(std::string* out, std::string_view text);

// True if bytes are well-formed UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace tidegate
