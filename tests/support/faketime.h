// SPDX-License-Identifier: Apache-2.0
// libfaketime for tests of wall-clock steps (Debian package `faketime`): the environment
// that preloads it into a child so that the child's wall clock is the real one plus an
// offset read from a file, re-read about once a second, while its monotonic clock stays
// real (FAKETIME_DONT_FAKE_MONOTONIC). SetFaketimeOffset changes the offset of the running
// child: a step of its wall clock, as NTP makes on a gateway without a battery-backed clock.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

// The path of libfaketimeMT.so.1; kNotFound (naming the package) if it is not installed.
Result<std::string> LibFaketimePath();

// Environment for a child whose wall clock follows the offset in offset_file (written by
// SetFaketimeOffset first). kNotFound if libfaketime is not installed.
Result<std::vector<std::pair<std::string, std::string>>> FaketimeEnv(
    const std::string& offset_file);

// Writes offset (libfaketime syntax: "+0", "+365d", "-365d") to offset_file atomically
// (temp file and rename), so a reader never sees half of it.
Status SetFaketimeOffset(const std::string& offset_file, const std::string& offset);

}  // namespace tidegate::testing
