// SPDX-License-Identifier: Apache-2.0
// Limits that make a hostile config cheap to refuse, checked before the document is loaded:
// its size, its nesting depth and its node count with aliases expanded (yaml-cpp shares an
// anchored node between its aliases, but every reader that walks the tree pays for each
// alias again: a "billion laughs" file). The checking pass uses yaml-cpp's event parser
// and stops at the first limit passed. Pure functions, thread-safe; throws nothing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::agent {

inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;  // ours are a few KiB
inline constexpr int kMaxConfigDepth = 64;          // ours nest 6 deep (aggregate[].window.hopping)
inline constexpr size_t kMaxConfigNodes = 100'000;  // aliases expanded; ours have hundreds

// kInvalidArgument "SOURCE:LINE: ..." if text passes the depth or expanded node limit, or
// "SOURCE: ..." if it is larger than kMaxConfigBytes. A YAML syntax error is left to the
// loader (Ok here), which reports it with its line.
Status CheckYamlLimits(std::string_view text, const std::string& source_name);

}  // namespace tidegate::agent
