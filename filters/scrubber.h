// SPDX-License-Identifier: Apache-2.0
// The scrub scanner: finds personal data (email addresses, phone numbers, IPv4/IPv6
// addresses, card-like numbers) inside free text so that the privacy stage can tokenize each
// match in place. It is a hand-written linear scanner, not a regex: no recursion, no
// backtracking beyond a small bounded window, and it never reads outside the input, whatever
// the bytes (the input is normally UTF-8 from a JSON string). Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tidegate::filters {

// Detection rules. Scanning goes left to right; matches never overlap. Emails are found first
// (anchored on '@'); the other kinds are looked for between them, trying at each position
// IPv6, IPv4, card, then phone, and taking the first that matches. A number start is a
// position not preceded by a letter, digit, '_', '.' or '+', nor by '-' or ':' that follows a
// digit; a number end is not followed by a letter, digit or '_', nor by '.', ':' or '-' and a
// digit. So digit runs inside longer alphanumeric words, "1.2.3.4567" or "12:30" never
// match, and "2024-05-17" is read as one token, never as parts.
//
// kEmail: local part, '@', domain.
//   - Local part: ASCII letters, digits, "!#$%&'*+-^_~" and '.', plus non-ASCII letters
//     (UTF-8 local parts, RFC 6531: "jörg@example.de" matches whole, so no part of the name
//     leaks). RFC 5322 also allows "/=?`{|}", which we treat as boundaries: in logs they
//     separate a key from the address ("to=bob@x.org" matches "bob@x.org"). Non-ASCII
//     punctuation and symbols (U+00A0-U+00BF, U+2000-U+2BFF such as '—' and '…', CJK and
//     fullwidth punctuation, emoji, private use) are boundaries as well. The local part is
//     the longest such run before the '@'; leading dots and apostrophes are dropped, a
//     double dot cuts it (".."), and one ending in '.' is no match.
//   - Domain: labels of letters, digits, '-' (and non-ASCII letters, for IDNs), none empty
//     or starting or ending with '-'; at least two labels; the last (the TLD) made of >= 2
//     letters. The match ends after the last label that qualifies as a TLD, so
//     "anna@example.com." and "anna@example.com--and" yield "anna@example.com".
//   - No length limits: an overlong address is still an address to hide.
// kPhone: one of
//   - International: '+', then 8 to 15 digits in groups separated by single spaces, dots or
//     hyphens (mixed), with at most one parenthesized group of 1-5 digits after the first
//     ("+44 20 7946 0958", "+1 (415) 555-0134", "+44 (0)20 7946 0958", "+4915112345678").
//   - National with a trunk prefix: "0" then 1-9, or "00" then 1-9; 9 to 15 digits; groups of
//     >= 2 digits separated by one kind of separator used throughout (space, '-', '.', '/'):
//     "020 7946 0958", "0612345678", "06 12 34 56 78", "030/12345678". Zero-padded counters
//     ("0000012345") do not match.
//   - National with a parenthesized area code of 2-5 digits: "(415) 555-0134",
//     "(020) 7946 0958"; 9 to 15 digits in all, the groups after it as above.
//   - North American 3-3-4 with one separator kind ('-', '.', ' '), first digit 2-9,
//     optionally after "1" and the same separator: "415-555-0134", "1-415-555-0134".
//     An ungrouped 10-digit run without a leading 0 is not a phone (it reads as an id or a
//     unix time in seconds).
//   When the digits run on (another number follows after a space), the longest prefix that
//   ends at a group boundary and satisfies the rules is taken.
// kIpv4: a dotted quad, octets 0-255 without leading zeros (except "0"), not part of a
//   longer dotted-number run ("1.2.3.4.5" does not match; a trailing sentence dot is not
//   part of the run). A port or range may follow ("10.0.0.1:8080", "10.0.0.1-10.0.0.9").
//   Inherently ambiguous: a four-part version "1.2.3.4" reads as an address.
// kIpv6: the longest run of hex digits, ':' and '.' (at most 45 bytes after dropping a
//   trailing '.' or a single trailing ':') that inet_pton(AF_INET6) accepts and holds at
//   least one hex digit; full, compressed and embedded-IPv4 forms ("2001:db8::1", "::1",
//   "::ffff:192.0.2.1"). Times ("10:32:07", "12:30") and MAC addresses are rejected by
//   inet_pton. It may follow "ip:"-style labels; a zone ("%eth0") is not part of the match.
// kCard: 13 to 19 digits that pass the Luhn check, either ungrouped or in groups of 3 to 8
//   digits separated by single spaces or single hyphens (one kind throughout):
//   "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "3782 822463 10005".
//   Luhn failures do not match as cards. An ungrouped run of 13, 16 or 19 digits starting
//   with '1' is a unix timestamp in ms, us or ns (no card network issues such numbers: the
//   only 13-digit cards are Visa, starting with 4), so "1764000000123" is not a card; nor is
//   it a phone (no '+', no trunk 0, no grouping).
// Precedence: email > IPv6 > IPv4 > card > phone at the same position; the leftmost match
// wins otherwise. A Luhn-valid number that also fits a phone rule ("0612 3456 7890 123") is a
// card; a Luhn failure of the same shape falls through to the phone rules.
enum class PiiKind { kEmail, kPhone, kIpv4, kIpv6, kCard };

// "email", "phone", "ipv4", "ipv6", "card": stable names for metrics and tests.
std::string_view PiiKindName(PiiKind kind);

// A match is text.substr(begin, end - begin).
struct PiiMatch {
  size_t begin = 0, end = 0;
  PiiKind kind = PiiKind::kEmail;
};

// Clears *out and appends the matches in text, ascending and non-overlapping. Work is linear
// in text.size(); *out is reused so that the hot path does not allocate once it has grown.
void FindPii(std::string_view text, std::vector<PiiMatch>* out);

// Returns text with each match replaced by replace(match_text, kind), or text unchanged if
// nothing matches. replace is called once per match, left to right.
std::string ScrubText(std::string_view text,
                      const std::function<std::string(std::string_view, PiiKind)>& replace);

}  // namespace tidegate::filters
