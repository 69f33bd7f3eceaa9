// SPDX-License-Identifier: Apache-2.0
// The scrub scanner: finds personal data inside free text so the privacy stage can tokenize
// each match in place. A hand-written linear scanner (no regex: bounded work per byte, no
// recursion), safe on any bytes. What it matches:
// - email: local part of letters, digits and !#$%&'*+/=?^_`{|}~- with single inner dots, '@',
//   a domain of at least two labels (letters, digits, inner hyphens), a TLD of 2+ letters.
// - IPv4: a dotted quad of 0-255 without leading zeros, not part of a longer dotted run
//   (version strings like 1.2.3.4.5 do not match). IPv6: what inet_pton accepts, with "::"
//   or all 8 groups (times like 10:32:07 do not match).
// - card: 13-19 digits, single spaces or hyphens between groups, a leading 2-6 (card
//   networks) and a valid Luhn check. Takes precedence over phone.
// - phone: "+" and 8-15 digits, or national forms: a leading 0 with 9-11 digits, or the
//   North American shape (415) 555-0134, 415-555-0134, 415.555.0134, 415 555 0134.
//   Dates, times and plain numbers (a 13-digit unix ms timestamp) do not match.
// Matches start at a word boundary (not after a letter or digit) and end at one.
// Pure functions, thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tidegate::filters {

enum class PiiKind { kEmail, kPhone, kIpv4, kIpv6, kCard };

std::string_view PiiKindName(PiiKind kind);

struct PiiMatch {
  size_t begin = 0;
  size_t end = 0;
  PiiKind kind = PiiKind::kEmail;
};

// Non-overlapping matches, left to right; *out is cleared first.
void FindPii(std::string_view text, std::vector<PiiMatch>* out);

// text with each match replaced by replace(match_text, kind).
std::string ScrubText(std::string_view text,
                      const std::function<std::string(std::string_view, PiiKind)>& replace);

}  // namespace tidegate::filters
