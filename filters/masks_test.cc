// SPDX-License-Identifier: Apache-2.0
#include "filters/masks.h"

#include <catch2/catch.hpp>

using tidegate::MaskKind;
using tidegate::filters::ApplyMask;

TEST_CASE("ipv4_prefix_24 keeps the /24 network and refuses non-IPv4", "[filters][privacy]") {
  CHECK(ApplyMask(MaskKind::kIpv4Prefix24, "192.168.1.77") == "192.168.1.0/24");
  CHECK(ApplyMask(MaskKind::kIpv4Prefix24, "10.0.0.1") == "10.0.0.0/24");
  for (const char* bad : {"", "256.1.1.1", "1.2.3", "2001:db8::1", "abc", "1.2.3.4/8"}) {
    INFO(bad);
    CHECK_FALSE(ApplyMask(MaskKind::kIpv4Prefix24, bad));
  }
}

TEST_CASE("ipv6_prefix_48 keeps the /48 network and refuses non-IPv6", "[filters][privacy]") {
  CHECK(ApplyMask(MaskKind::kIpv6Prefix48, "2001:db8:abcd:12::1") == "2001:db8:abcd::/48");
  CHECK(ApplyMask(MaskKind::kIpv6Prefix48, "::1") == "::/48");
  CHECK_FALSE(ApplyMask(MaskKind::kIpv6Prefix48, "192.168.1.1"));
  CHECK_FALSE(ApplyMask(MaskKind::kIpv6Prefix48, "gggg::1"));
}

TEST_CASE("keep_last_4 masks code points and refuses short values", "[filters][privacy]") {
  CHECK(ApplyMask(MaskKind::kKeepLast4, "4111111111111111") == "************1111");
  CHECK(ApplyMask(MaskKind::kKeepLast4, "ÄÖÜßabcd") == "****abcd");
  CHECK(ApplyMask(MaskKind::kKeepLast4, "abcdé") == "*bcdé");
  CHECK_FALSE(ApplyMask(MaskKind::kKeepLast4, "1234"));
  CHECK_FALSE(ApplyMask(MaskKind::kKeepLast4, ""));
}

TEST_CASE("year_only needs a valid calendar date first", "[filters][privacy]") {
  CHECK(ApplyMask(MaskKind::kYearOnly, "1984-07-23") == "1984");
  CHECK(ApplyMask(MaskKind::kYearOnly, "2000-02-29T10:00:00Z") == "2000");
  for (const char* bad : {"", "1984", "2023-02-29", "2023-02-30", "1984-13-01", "84-07-23",
                          "1984-07-23x", "July 1984"}) {
    INFO(bad);
    CHECK_FALSE(ApplyMask(MaskKind::kYearOnly, bad));
  }
}
