// SPDX-License-Identifier: Apache-2.0
// Privacy masks: keep a safe part of a value. A value that does not fit its mask yields
// nullopt and the caller drops the field (counted): a mask never passes a value through raw.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"

namespace tidegate::filters {

// ipv4_prefix_24: "192.168.1.77" -> "192.168.1.0/24".
// ipv6_prefix_48: "2001:db8:abcd:12::1" -> "2001:db8:abcd::/48".
// keep_last_4: every code point but the last 4 becomes '*'; 4 or fewer code points do not fit.
// year_only: text starting with a valid date YYYY-MM-DD -> "YYYY".
std::optional<std::string> ApplyMask(MaskKind kind, std::string_view text);

}  // namespace tidegate::filters
