// SPDX-License-Identifier: Apache-2.0
// TEST HOOK, not a feature: lets the integration test of the systemd watchdog freeze one of
// the agent's threads for good, to see the watchdog pings stop. It is armed only by the
// environment variable TIDEGATE_TEST_STALL=<thread>:<seconds> (thread: ingest, writer or
// uplink), read once at start, never by a config key. Thread-safe; costs one relaxed atomic
// load per call when unarmed.
#pragma once

#include <optional>
#include <string>

namespace tidegate {

enum class StallPoint { kIngest, kWriter, kUplink };

// Reads TIDEGATE_TEST_STALL. Returns a line for the log when it is set (armed, or ignored
// as malformed), nullopt when it is not.
std::optional<std::string> ArmTestStallFromEnvironment();

// Called by each watched thread in its loop: once the hook is armed for `point` and its delay
// has passed, never returns.
void TestStallPoint(StallPoint point);

}  // namespace tidegate
