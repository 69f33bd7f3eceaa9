// SPDX-License-Identifier: Apache-2.0
#include "filters/scrubber.h"

#include <catch2/catch.hpp>

using tidegate::filters::FindPii;
using tidegate::filters::PiiKind;
using tidegate::filters::PiiMatch;
using tidegate::filters::ScrubText;

namespace {

struct Case {
  const char* text;
  std::vector<std::pair<std::string, PiiKind>> want;  // matched substrings, in order
};

using K = PiiKind;

// Positive and negative cases; each lists exactly what must be found.
const std::vector<Case> kCases = {
    // emails
    {"mail alice@example.com now", {{"alice@example.com", K::kEmail}}},
    {"a.b+tag@mail.sub.example.co.uk.", {{"a.b+tag@mail.sub.example.co.uk", K::kEmail}}},
    {"<bob_smith-1@corp-mail.example.org>", {{"bob_smith-1@corp-mail.example.org", K::kEmail}}},
    {"contact: anna@example.com — danke", {{"anna@example.com", K::kEmail}}},
    {"Grüße an jörg@example.de", {{"rg@example.de", K::kEmail}}},
    {"two: x@a.io, y@b.io", {{"x@a.io", K::kEmail}, {"y@b.io", K::kEmail}}},
    {"not an email: user@localhost", {}},
    {"not an email: @example.com", {}},
    {"not an email: a..b@example.com", {{"b@example.com", K::kEmail}}},
    {"not an email: user@example.c0m", {}},
    {"user@-bad.example.com", {}},
    // phones
    {"call +44 20 7946 0958 today", {{"+44 20 7946 0958", K::kPhone}}},
    {"call +1 (415) 555-0134", {{"+1 (415) 555-0134", K::kPhone}}},
    {"+33 1 23 45 67 89", {{"+33 1 23 45 67 89", K::kPhone}}},
    {"+4915112345678", {{"+4915112345678", K::kPhone}}},
    {"tel 020 7946 0958", {{"020 7946 0958", K::kPhone}}},
    {"(415) 555-0134 office", {{"(415) 555-0134", K::kPhone}}},
    {"415-555-0134", {{"415-555-0134", K::kPhone}}},
    {"415.555.0134", {{"415.555.0134", K::kPhone}}},
    {"mobile 0612345678", {{"0612345678", K::kPhone}}},
    {"+12 34", {}},
    {"room 4155 floor 2", {}},
    // IPv4 and IPv6
    {"from 192.168.1.77:", {{"192.168.1.77", K::kIpv4}}},
    {"10.0.0.1 and 8.8.8.8", {{"10.0.0.1", K::kIpv4}, {"8.8.8.8", K::kIpv4}}},
    {"host 2001:db8::1 up", {{"2001:db8::1", K::kIpv6}}},
    {"fe80::1ff:fe23:4567:890a", {{"fe80::1ff:fe23:4567:890a", K::kIpv6}}},
    {"loopback ::1", {{"::1", K::kIpv6}}},
    {"2001:0db8:0000:0000:0000:ff00:0042:8329",
     {{"2001:0db8:0000:0000:0000:ff00:0042:8329", K::kIpv6}}},
    {"mapped ::ffff:192.0.2.1", {{"::ffff:192.0.2.1", K::kIpv6}}},
    {"version 1.2.3.4567", {}},
    {"version 1.2.3.4.5", {}},
    {"256.1.1.1 is not an address", {}},
    {"01.02.03.04", {}},
    // cards
    {"card 4111 1111 1111 1111 ok", {{"4111 1111 1111 1111", K::kCard}}},
    {"4111-1111-1111-1111", {{"4111-1111-1111-1111", K::kCard}}},
    {"amex 378282246310005", {{"378282246310005", K::kCard}}},
    {"luhn fails 4111 1111 1111 1112", {}},
    {"luhn fails 4111111111111112", {}},
    // things that must not match
    {"at 2024-05-17T10:32:07.123Z", {}},
    {"at 2024-05-17 10:32:07", {}},
    {"ts 1764000000123", {}},
    {"time 12:30 and 10:32:07", {}},
    {"build v2.10.3 sha 4a3f9c", {}},
    {"", {}},
    {"plain words only, nothing to see", {}},
    {"ünïcödé ✓ only", {}},
};

}  // namespace

TEST_CASE("the scrub scanner finds exactly the expected PII", "[filters][privacy]") {
  CHECK(kCases.size() >= 40);
  std::vector<PiiMatch> found;
  for (const Case& c : kCases) {
    std::string_view text = c.text;
    INFO("text: " << c.text);
    FindPii(text, &found);
    std::vector<std::pair<std::string, PiiKind>> got;
    for (const PiiMatch& m : found) {
      got.emplace_back(std::string(text.substr(m.begin, m.end - m.begin)), m.kind);
    }
    CHECK(got == c.want);
  }
}

TEST_CASE("ScrubText replaces every match in place", "[filters][privacy]") {
  auto redact = [](std::string_view, PiiKind kind) {
    return "<" + std::string(tidegate::filters::PiiKindName(kind)) + ">";
  };
  CHECK(ScrubText("mail bob@example.com or +44 20 7946 0958 from 10.1.2.3", redact) ==
        "mail <email> or <phone> from <ipv4>");
  CHECK(ScrubText("nothing here", redact) == "nothing here");
}

TEST_CASE("the scanner survives hostile bytes", "[filters][privacy]") {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131) % 256));
  junk += std::string(5000, '@') + std::string(5000, '1') + std::string(3000, ':');
  std::vector<PiiMatch> found;
  FindPii(junk, &found);
  size_t last = 0;
  for (const PiiMatch& m : found) {
    CHECK(m.begin >= last);
    CHECK(m.end <= junk.size());
    CHECK(m.begin < m.end);
    last = m.end;
  }
}
