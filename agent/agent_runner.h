// SPDX-License-Identifier: Apache-2.0
// RunAgent: `tidegate run`. Opens the buffer, starts the writer, uplink, metrics and MQTT
// threads, waits for SIGTERM/SIGINT, and shuts down in the order that loses nothing: MQTT
// first (no new messages), then the writer commits what is staged, then the uplink stops
// (its in-flight batch stays recorded for the next run). Called once, from main.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"

namespace tidegate::agent {

// A documented feature whose stage this build does not have yet, named by its key. `run`
// refuses a config that uses one (a privacy rule that is not applied would leak personal
// data), and `config check` reports it as an error.
struct UnsupportedFeature {
  std::string key;  // dotted key path, e.g. "uplink.transport"
  std::string message;
};
std::vector<UnsupportedFeature> UnsupportedFeatures(const Config& config);

// Returns the process exit code: 0 after a clean shutdown, 1 on a runtime failure,
// 2 for a config the agent cannot run with. config was loaded from config_path, which
// SIGHUP re-reads and an accepted remote-config bundle replaces.
int RunAgent(const Config& config, const std::string& config_path);

}  // namespace tidegate::agent
