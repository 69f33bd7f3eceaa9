// SPDX-License-Identifier: Apache-2.0
// The aggregations' lines of the metrics page: per aggregation (label `aggregation`) open
// windows, watermark lag and late events by outcome, and the shared state budget. Reads
// relaxed atomics; called on the metrics server's thread.
#pragma once

#include <string>

#include "filters/aggregator.h"

namespace tidegate::agent {

// Appends the families to *out. With no aggregation configured only the family of
// tidegate_watermark_lag_seconds is written, without samples, so the page names every
// family SPEC lists whatever the config.
void AppendAggregationMetrics(const filters::Aggregator& aggregator, std::string* out);

}  // namespace tidegate::agent
