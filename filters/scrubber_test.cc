// SPDX-License-Identifier: Apache-2.0
#include "filters/scrubber.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using tidegate::filters::FindPii;
using tidegate::filters::PiiKind;
using tidegate::filters::PiiKindName;
using tidegate::filters::PiiMatch;
using tidegate::filters::ScrubText;

namespace {

struct Case {
  std::string_view input;
  // Each expected match as "<kind>:<matched text>", in order.
  std::vector<std::string> want;
};

std::vector<std::string> Describe(std::string_view input) {
  std::vector<PiiMatch> matches;
  FindPii(input, &matches);
  std::vector<std::string> out;
  out.reserve(matches.size());
  for (const PiiMatch& m : matches) {
    out.push_back(std::string(PiiKindName(m.kind)) + ":" +
                  std::string(input.substr(m.begin, m.end - m.begin)));
  }
  return out;
}

void CheckTable(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("input: " << c.input);
    CHECK(Describe(c.input) == c.want);
  }
}

std::string Bracket(std::string_view match, PiiKind kind) {
  return "<" + std::string(PiiKindName(kind)) + ":" + std::string(match) + ">";
}

}  // namespace

TEST_CASE("emails match with plus tags, dots and subdomains, bounded by context", "[filters]") {
  CheckTable({
      {"mail a.b+tag@mail.sub.example.co.uk now", {"email:a.b+tag@mail.sub.example.co.uk"}},
      {"<bob.smith@example.org>", {"email:bob.smith@example.org"}},
      {"to=bob@example.com;cc=eve@example.net", {"email:bob@example.com", "email:eve@example.net"}},
      {"reply to anna@example.com.", {"email:anna@example.com"}},
      {"ANNA_99@Example.COM", {"email:ANNA_99@Example.COM"}},
      {"write to x@example.com--she answers", {"email:x@example.com"}},
      {"a..b@example.com", {"email:b@example.com"}},
      {"'quoted@example.com'", {"email:quoted@example.com"}},
      {"anna@example.com.au2", {"email:anna@example.com"}},
      {"a@b@example.com", {"email:b@example.com"}},
  });
}

TEST_CASE("things that look like emails but are not do not match", "[filters]") {
  CheckTable({
      {"anna@localhost", {}},
      {"anna@example.c", {}},
      {"anna@-example.com", {}},
      {"anna.@example.com", {}},
      {"@example.com", {}},
      {"anna@example.42", {}},
  });
}

TEST_CASE("unicode text around matches is left alone", "[filters]") {
  CheckTable({
      {"contact: anna@example.com — danke", {"email:anna@example.com"}},
      {"Grüße, schreib an jörg@example.de", {"email:jörg@example.de"}},
      {"«anna@example.com»", {"email:anna@example.com"}},
      {"jörg@müller.de", {"email:jörg@müller.de"}},
      {"Größe 42 → ruf +49 30 1234567 an…", {"phone:+49 30 1234567"}},
      {"IP：192.168.1.77。", {"ipv4:192.168.1.77"}},
  });
}

TEST_CASE("phones match with and without a country code", "[filters]") {
  CheckTable({
      {"+44 20 7946 0958", {"phone:+44 20 7946 0958"}},
      {"call +1 (415) 555-0134 today", {"phone:+1 (415) 555-0134"}},
      {"+33 1 23 45 67 89", {"phone:+33 1 23 45 67 89"}},
      {"+44 (0)20 7946 0958", {"phone:+44 (0)20 7946 0958"}},
      {"sms +4915112345678.", {"phone:+4915112345678"}},
      {"020 7946 0958", {"phone:020 7946 0958"}},
      {"(415) 555-0134", {"phone:(415) 555-0134"}},
      {"415-555-0134", {"phone:415-555-0134"}},
      {"1-415-555-0134", {"phone:1-415-555-0134"}},
      {"0612345678", {"phone:0612345678"}},
      {"06 12 34 56 78", {"phone:06 12 34 56 78"}},
      {"030/12345678", {"phone:030/12345678"}},
      {"0044 20 7946 0958", {"phone:0044 20 7946 0958"}},
      {"tel:+44 20 7946 0958, mobile 0612345678", {"phone:+44 20 7946 0958", "phone:0612345678"}},
      {"+44 20 7946 0958 12:30", {"phone:+44 20 7946 0958"}},
  });
}

TEST_CASE("numbers that are not phones do not match", "[filters]") {
  CheckTable({
      {"count 42 of 1000", {}},
      {"12345678", {}},
      {"4155550134", {}},
      {"seq 0000012345", {}},
      {"serial ABC0612345678", {}},
      {"0612345678abc", {}},
      {"0.123456789", {}},
      {"01.02.2024", {}},
      {"+12.5 C", {}},
      {"415-555-01345", {}},
  });
}

TEST_CASE("IPv4 and IPv6 addresses match in full and compressed forms", "[filters]") {
  CheckTable({
      {"client 192.168.1.77 connected", {"ipv4:192.168.1.77"}},
      {"from 10.0.0.1:8080", {"ipv4:10.0.0.1"}},
      {"range 10.0.0.1-10.0.0.9", {"ipv4:10.0.0.1", "ipv4:10.0.0.9"}},
      {"bind 0.0.0.0.", {"ipv4:0.0.0.0"}},
      {"2001:db8::1", {"ipv6:2001:db8::1"}},
      {"fe80::1ff:fe23:4567:890a%eth0", {"ipv6:fe80::1ff:fe23:4567:890a"}},
      {"ping ::1", {"ipv6:::1"}},
      {"2001:0db8:0000:0000:0000:ff00:0042:8329", {"ipv6:2001:0db8:0000:0000:0000:ff00:0042:8329"}},
      {"mapped ::ffff:192.0.2.1 ok", {"ipv6:::ffff:192.0.2.1"}},
      {"[2001:db8::1]:443", {"ipv6:2001:db8::1"}},
      {"addr 2001:db8::1: refused", {"ipv6:2001:db8::1"}},
      {"ip:2001:db8::7", {"ipv6:2001:db8::7"}},
  });
}

TEST_CASE("dotted and colon-separated non-addresses do not match", "[filters]") {
  CheckTable({
      {"version 1.2.3.4567", {}},
      {"1.2.3.4.5", {}},
      {"v1.2.3.4", {}},
      {"256.1.1.1", {}},
      {"192.168.01.1", {}},
      {"12:30", {}},
      {"10:32:07.123", {}},
      {"std::vector and :: alone", {}},
      {"MAC 00:1a:2b:3c:4d:5e", {}},
      {"ratio 3:2:1", {}},
  });
}

TEST_CASE("card numbers match only when they pass the Luhn check", "[filters]") {
  CheckTable({
      {"card 4111 1111 1111 1111 exp", {"card:4111 1111 1111 1111"}},
      {"4111-1111-1111-1111", {"card:4111-1111-1111-1111"}},
      {"amex 378282246310005", {"card:378282246310005"}},
      {"3782 822463 10005", {"card:3782 822463 10005"}},
      {"visa13 4222222222222", {"card:4222222222222"}},
      {"4111 1111 1111 1111 2024", {"card:4111 1111 1111 1111"}},
      {"4111 1111 1111 1112", {}},
      {"4111111111111112", {}},
      {"4111-1111 1111-1111", {}},
      {"41111111111111110", {}},
  });
}

TEST_CASE("a number that fits both the card and phone rules is a card if Luhn passes",
          "[filters]") {
  CheckTable({
      {"0612 3456 7890 125", {"card:0612 3456 7890 125"}},
      {"0612 3456 7890 123", {"phone:0612 3456 7890 123"}},
  });
}

TEST_CASE("timestamps, dates and unix times do not match", "[filters]") {
  CheckTable({
      {"2024-05-17", {}},
      {"at 2024-05-17 10:32:07 UTC", {}},
      {"2024-05-17T10:32:07.123Z", {}},
      {"2024-05-17T10:32:07+02:00", {}},
      {"05/17/2024 10:32", {}},
      // Luhn-valid on purpose: a unix time in ms, us or ns is never a card.
      {"ts=1764000000109 temp=21.5", {}},
      {"ts_us 1764000000123400", {}},
      {"1764000000123", {}},
      {"unix s 1764000000", {}},
  });
}

TEST_CASE("several kinds in one text are found left to right", "[filters]") {
  CheckTable({
      {"user anna@example.com from 192.168.1.77 paid with 4111 1111 1111 1111, call +44 20 "
       "7946 0958 or 2001:db8::1",
       {"email:anna@example.com", "ipv4:192.168.1.77", "card:4111 1111 1111 1111",
        "phone:+44 20 7946 0958", "ipv6:2001:db8::1"}},
      {"0612345678@example.com", {"email:0612345678@example.com"}},
  });
}

TEST_CASE("FindPii clears its output vector first", "[filters]") {
  std::vector<PiiMatch> matches(3);
  FindPii("nothing here", &matches);
  CHECK(matches.empty());
  FindPii("x 10.1.2.3", &matches);
  REQUIRE(matches.size() == 1);
  CHECK(matches[0].begin == 2);
  CHECK(matches[0].end == 10);
  CHECK(matches[0].kind == PiiKind::kIpv4);
}

TEST_CASE("ScrubText replaces each match in place and keeps the rest", "[filters]") {
  const std::string input = "mail anna@example.com or call +44 20 7946 0958, ip 10.0.0.1.";
  CHECK(ScrubText(input, Bracket) ==
        "mail <email:anna@example.com> or call <phone:+44 20 7946 0958>, ip <ipv4:10.0.0.1>.");
  int calls = 0;
  auto counting = [&calls](std::string_view, PiiKind) {
    ++calls;
    return std::string("tok");
  };
  CHECK(ScrubText(input, counting) == "mail tok or call tok, ip tok.");
  CHECK(calls == 3);
}

TEST_CASE("ScrubText returns text without matches unchanged", "[filters]") {
  int calls = 0;
  auto counting = [&calls](std::string_view, PiiKind) {
    ++calls;
    return std::string("tok");
  };
  CHECK(ScrubText("", counting).empty());
  CHECK(ScrubText("temp 21.5 at 2024-05-17 10:32:07", counting) ==
        "temp 21.5 at 2024-05-17 10:32:07");
  CHECK(calls == 0);
}

TEST_CASE("arbitrary bytes and invalid UTF-8 are scanned safely", "[filters]") {
  static const char kBytes[] = "\xff\xfe\xc3@\x00\x80x@example.com\xe2\x80";
  CHECK(Describe(std::string_view(kBytes, sizeof(kBytes) - 1)) ==
        std::vector<std::string>{"email:x@example.com"});
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  // "/0123456789:" in the middle has the shape of a national number.
  CHECK(Describe(all) == std::vector<std::string>{"phone:0123456789"});
  CHECK(Describe(std::string_view("\xc3", 1)).empty());
  CHECK(Describe("@").empty());
  CHECK(Describe("+").empty());
  CHECK(Describe("(").empty());
}

TEST_CASE("long hostile inputs are scanned to the end", "[filters]") {
  SECTION("many addresses") {
    std::string text;
    for (int k = 0; k < 20000; ++k) text += "a@b.co ";
    CHECK(Describe(text).size() == 20000);
  }
  SECTION("long runs of candidate characters") {
    for (std::string_view unit : {"1", "1 ", "1.", "a:", ":", "@", "a@", "+1 ", "0 ", "a."}) {
      std::string text;
      while (text.size() < 200000) text += unit;
      INFO("unit: " << unit);
      std::vector<PiiMatch> matches;
      FindPii(text, &matches);
      for (const PiiMatch& m : matches) CHECK(m.end <= text.size());
    }
  }
}

TEST_CASE("PiiKind names are stable", "[filters]") {
  CHECK(PiiKindName(PiiKind::kEmail) == "email");
  CHECK(PiiKindName(PiiKind::kPhone) == "phone");
  CHECK(PiiKindName(PiiKind::kIpv4) == "ipv4");
  CHECK(PiiKindName(PiiKind::kIpv6) == "ipv6");
  CHECK(PiiKindName(PiiKind::kCard) == "card");
}
