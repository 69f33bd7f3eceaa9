// SPDX-License-Identifier: Apache-2.0
// Masks for the privacy stage's `mask` rules: keep the coarse part of a value (a network
// prefix, the last four characters, the year) and hide the rest. A value that does not fit
// its mask is reported as such so the caller can drop the field and count it; a value is
// never passed through raw. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"

namespace tidegate::filters {

// Masks the text of a value. Returns the masked text, or std::nullopt when the value does not
// fit the mask (the caller drops the field and counts it; it never passes it through raw).
//   kIpv4Prefix24: a dotted-quad IPv4 address (inet_pton) -> its /24 network,
//                  "192.168.1.77" -> "192.168.1.0/24".
//   kIpv6Prefix48: an IPv6 address (inet_pton, any textual form, no zone) -> its /48
//                  network, bits after 48 zeroed, rendered by inet_ntop:
//                  "2001:db8:abcd:12::1" -> "2001:db8:abcd::/48".
//   kKeepLast4:    well-formed UTF-8 of more than 4 code points -> every code point but the
//                  last 4 replaced by '*': "4111111111111111" -> "************1111". Values of
//                  4 or fewer code points do not fit: showing them whole would leak them.
//   kYearOnly:     a value starting with a valid calendar date YYYY-MM-DD (a date, or an
//                  RFC 3339 / "YYYY-MM-DD hh:mm:ss" timestamp: the date may be followed only
//                  by the end, 'T', 't' or ' ') -> "YYYY": "1984-07-23" -> "1984".
// Surrounding whitespace, embedded NULs and prefix notation ("10.0.0.1/8") do not fit.
std::optional<std::string> ApplyMask(MaskKind kind, std::string_view text);

}  // namespace tidegate::filters
