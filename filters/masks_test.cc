// SPDX-License-Identifier: Apache-2.0
#include "filters/masks.h"

#include <catch2/catch.hpp>
#include <string>

using tidegate::MaskKind;
using tidegate::filters::ApplyMask;

namespace {

std::optional<std::string> Mask(MaskKind kind, std::string_view text) {
  return ApplyMask(kind, text);
}

}  // namespace

TEST_CASE("ipv4_prefix_24 keeps the /24 network of an IPv4 address", "[filters]") {
  CHECK(Mask(MaskKind::kIpv4Prefix24, "192.168.1.77") == "192.168.1.0/24");
  CHECK(Mask(MaskKind::kIpv4Prefix24, "10.0.0.0") == "10.0.0.0/24");
  CHECK(Mask(MaskKind::kIpv4Prefix24, "255.255.255.255") == "255.255.255.0/24");
}

TEST_CASE("ipv4_prefix_24 keeps the first three octets as written, for every octet value",
          "[filters]") {
  for (unsigned v = 0; v < 256; ++v) {
    const std::string a = std::to_string(v) + "." + std::to_string(255 - v) + "." +
                          std::to_string((v * 7) % 256) + "." + std::to_string(v);
    const std::string want = a.substr(0, a.rfind('.')) + ".0/24";
    CHECK(Mask(MaskKind::kIpv4Prefix24, a) == want);
  }
}

TEST_CASE("ipv4_prefix_24 rejects values that are not IPv4 addresses", "[filters]") {
  for (std::string_view bad :
       {"", "garbage", "2001:db8::1", "192.168.1", "192.168.1.256", "192.168.1.77/32",
        " 192.168.1.77", "192.168.1.77 ", "192.168.1.77.5", "0x7f.0.0.1"}) {
    INFO("value: " << bad);
    CHECK_FALSE(Mask(MaskKind::kIpv4Prefix24, bad).has_value());
  }
  CHECK_FALSE(Mask(MaskKind::kIpv4Prefix24, std::string_view("10.1.2.3\0garbage", 16)));
  CHECK_FALSE(Mask(MaskKind::kIpv4Prefix24, std::string(100, '1')));
}

TEST_CASE("ipv6_prefix_48 zeroes everything after the first 48 bits", "[filters]") {
  CHECK(Mask(MaskKind::kIpv6Prefix48, "2001:db8:abcd:12::1") == "2001:db8:abcd::/48");
  CHECK(Mask(MaskKind::kIpv6Prefix48, "2001:0db8:0000:0000:0000:ff00:0042:8329") ==
        "2001:db8::/48");
  CHECK(Mask(MaskKind::kIpv6Prefix48, "fe80::1ff:fe23:4567:890a") == "fe80::/48");
  CHECK(Mask(MaskKind::kIpv6Prefix48, "2a00:1450:4001:82b::200e") == "2a00:1450:4001::/48");
  CHECK(Mask(MaskKind::kIpv6Prefix48, "::1") == "::/48");
  CHECK(Mask(MaskKind::kIpv6Prefix48, "::ffff:192.0.2.1") == "::/48");
}

TEST_CASE("ipv6_prefix_48 rejects values that are not IPv6 addresses", "[filters]") {
  for (std::string_view bad : {"", "garbage", "192.168.1.77", "2001:db8::1::2", "2001:db8::/32",
                               "fe80::1%eth0", "12:30", " ::1", "2001:db8:g::1"}) {
    INFO("value: " << bad);
    CHECK_FALSE(Mask(MaskKind::kIpv6Prefix48, bad).has_value());
  }
  CHECK_FALSE(Mask(MaskKind::kIpv6Prefix48, std::string_view("::1\0:2", 6)));
}

TEST_CASE("keep_last_4 stars every code point but the last four", "[filters]") {
  CHECK(Mask(MaskKind::kKeepLast4, "4111111111111111") == "************1111");
  CHECK(Mask(MaskKind::kKeepLast4, "12345") == "*2345");
  CHECK(Mask(MaskKind::kKeepLast4, "+44 20 7946 0958") == "************0958");
  // Code points, not bytes: 'ü' and 'ß' count once and are kept whole.
  CHECK(Mask(MaskKind::kKeepLast4, "Jürgen Müßig") == "********üßig");
  CHECK(Mask(MaskKind::kKeepLast4, "Grüße aus Köln") == "**********Köln");
  CHECK(Mask(MaskKind::kKeepLast4, "日本語のテキスト") == "****テキスト");
}

TEST_CASE("keep_last_4 rejects short values and invalid UTF-8", "[filters]") {
  for (std::string_view bad : {"", "1", "1234", "Jörg", "日本語の"}) {
    INFO("value: " << bad);
    CHECK_FALSE(Mask(MaskKind::kKeepLast4, bad).has_value());
  }
  CHECK_FALSE(Mask(MaskKind::kKeepLast4, "abcdef\xff").has_value());
  CHECK_FALSE(Mask(MaskKind::kKeepLast4, "abcdef\xc3").has_value());
}

TEST_CASE("year_only keeps the year of a date or timestamp", "[filters]") {
  CHECK(Mask(MaskKind::kYearOnly, "1984-07-23") == "1984");
  CHECK(Mask(MaskKind::kYearOnly, "2024-05-17T10:32:07.123Z") == "2024");
  CHECK(Mask(MaskKind::kYearOnly, "2024-05-17T10:32:07+02:00") == "2024");
  CHECK(Mask(MaskKind::kYearOnly, "2024-05-17 10:32:07") == "2024");
  CHECK(Mask(MaskKind::kYearOnly, "2024-02-29") == "2024");
  CHECK(Mask(MaskKind::kYearOnly, "2000-02-29") == "2000");
}

TEST_CASE("year_only rejects values that do not start with a valid date", "[filters]") {
  for (std::string_view bad :
       {"", "garbage", "1984", "1984-07", "84-07-23", "1984/07/23", "2023-02-30", "2023-02-29",
        "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-04-00", "1984-07-230",
        "1984-07-23x", " 1984-07-23", "1764000000123", "19a4-07-23"}) {
    INFO("value: " << bad);
    CHECK_FALSE(Mask(MaskKind::kYearOnly, bad).has_value());
  }
}
