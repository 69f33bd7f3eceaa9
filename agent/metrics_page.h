// SPDX-License-Identifier: Apache-2.0
// The text of the Prometheus metrics page, from the pipeline's counters. Names follow
// Prometheus conventions (tidegate_*_total for counters). Never includes field values.
// Called on the metrics server's thread.
#pragma once

#include <string>

#include "agent/health.h"
#include "agent/ingest_metrics.h"
#include "agent/mqtt_source.h"
#include "buffer/group_committer.h"
#include "buffer/sqlite_store.h"
#include "common/config.h"
#include "filters/privacy_filter.h"
#include "uplink/uplink_worker.h"

namespace tidegate::agent {

// privacy may be null (no rules configured).
std::string RenderMetrics(const Config& config, const IngestMetrics& ingest,
                          const filters::PrivacyFilter* privacy,
                          const buffer::GroupCommitter& committer,
                          const uplink::UplinkStats& uplink, buffer::SqliteStore& store);

// Appends tidegate_uplink_failing_seconds (0 while delivering) and
// tidegate_uplink_consecutive_failures, what /readyz judges the uplink by.
void AppendUplinkFailingMetrics(const UplinkHealth& health, std::string* out);

}  // namespace tidegate::agent
