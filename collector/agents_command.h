// SPDX-License-Identifier: Apache-2.0
// `tidegate-collector agents`: prints the store's agents table (what OpAMP agents last
// reported on POST /v1/opamp) as NDJSON, one agent a line, ordered by id then instance_uid.
// Safe to run while a server writes to the same store. Single-threaded.
#pragma once

#include <cstdio>
#include <string>

#include "collector/store/landing_store.h"

namespace tidegate::collector {

struct AgentsOptions {
  std::string store;  // a data directory or a postgresql:// URL
};

// {"id","instance_uid","last_seen","sequence_num","config_status","config_hash",
//  "config_error","healthy","health_status","effective_config_hash"}
std::string AgentToNdjson(const AgentRecord& agent);

// Writes the lines to out and errors to err. Returns 0, or 1 for a missing store, an
// unreachable server or a read/write failure.
int RunAgents(const AgentsOptions& options, std::FILE* out, std::FILE* err);

}  // namespace tidegate::collector
