// SPDX-License-Identifier: Apache-2.0
// `tidegate status -c FILE`: asks the agent running with that config for its state, on the
// metrics listener the config names (agent.metrics_listen: /metrics and /readyz), and prints
// it for a person (agent/status_report.h). Reads nothing of the buffer itself. Main thread.
#pragma once

#include "common/config.h"

namespace tidegate::agent {

// Exit codes of `tidegate status`.
inline constexpr int kStatusReady = 0;     // the agent answered and is ready
inline constexpr int kStatusNoAgent = 1;   // metrics off, or no agent answers on the listener
inline constexpr int kStatusNotReady = 3;  // the agent answered and is not ready

// Prints the status on stdout, or why there is none on stderr; returns an exit code above.
int StatusCommand(const Config& config);

}  // namespace tidegate::agent
