// SPDX-License-Identifier: Apache-2.0
// `tidegate-collector dump`: prints the landing store (SQLite directory or PostgreSQL URL) as
// NDJSON in the landing format of docs/guarantees.md (events, or the latest revision of every
// aggregate), one object a line, the same bytes from either store. Safe to run while a server
// writes to the same store. Single-threaded.
#pragma once

#include <cstdio>
#include <string>

#include "collector/store/landing_store.h"

namespace tidegate::collector {

struct DumpOptions {
  std::string store;  // a data directory or a postgresql:// URL
  std::string what;   // "events" or "aggregates"
};

// {"agent_id","seq","topic","device_id","event_time","ingest_time","late","payload"}
std::string EventToNdjson(const LandedEvent& event);

// {"agent_id","name","key","window_start","window_end","revision","final","measures"}
std::string AggregateToNdjson(const LandedAggregate& aggregate);

// Writes the lines to out and errors to err. Returns 0, 1 for a missing data dir or
// database, an unreachable server or a read/write failure, 2 for an unknown `what`.
int RunDump(const DumpOptions& options, std::FILE* out, std::FILE* err);

}  // namespace tidegate::collector
