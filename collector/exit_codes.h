// SPDX-License-Identifier: Apache-2.0
// Process exit codes shared by every tidegate-collector subcommand (documented in --help).
#pragma once

namespace tidegate::collector {

inline constexpr int kExitOk = 0;       // success, or a clean shutdown on SIGTERM/SIGINT
inline constexpr int kExitFailure = 1;  // runtime failure: I/O, TLS files, bind, database
inline constexpr int kExitUsage = 2;    // bad usage: unknown flag, missing or invalid value

}  // namespace tidegate::collector
