// SPDX-License-Identifier: Apache-2.0
// TEST HOOK, not a feature: lets integration tests end the collector between landing a
// batch and acknowledging it, the window in which a crash makes the agent resend a batch
// that is already in the store. Armed only by the environment variable
// TIDEGATE_TEST_EXIT_AFTER_LAND=<N> (N >= 1), read once at start, never by an option: right
// after the Nth batch this process landed (committed, not a duplicate) and before the reply
// is sent, the process calls _exit(kTestExitAfterLandCode). Thread-safe; one relaxed atomic
// load per landed batch when unarmed. Follows common/test_stall.h.
#pragma once

#include <optional>
#include <string>

namespace tidegate::collector {

inline constexpr int kTestExitAfterLandCode = 75;

// Reads TIDEGATE_TEST_EXIT_AFTER_LAND. Returns a line for the log when it is set (armed, or
// ignored as malformed), nullopt when it is not.
std::optional<std::string> ArmTestExitAfterLandFromEnvironment();

// Called once per landed batch, after the commit and before the reply.
void TestExitAfterLandPoint();

}  // namespace tidegate::collector
