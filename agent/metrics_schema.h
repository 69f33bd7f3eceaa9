// SPDX-License-Identifier: Apache-2.0
// tidegate_schema_violations_total{schema,rule}: payload schema violations by schema name
// (every version of a name together) and rule. Bounded: at most filters::kMaxSchemas names
// times the fixed rules. Called by the metrics thread; reads atomics only.
#pragma once

#include <string>

#include "agent/ingest_pipeline.h"

namespace tidegate::agent {

void AppendSchemaMetrics(const IngestPipeline& pipeline, std::string* page);

}  // namespace tidegate::agent
