// SPDX-License-Identifier: Apache-2.0
// The text of the Prometheus metrics page and the health verdict, from the pipeline's
// counters. Names follow Prometheus conventions (tidegate_*_total for counters). Never
// includes field values. Called on the metrics server's thread.
#pragma once

#include <string>

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

// Healthy while the buffer commits and the broker connection is up; otherwise *why says
// what is wrong. No grace period at start: until the first CONNACK the agent is not
// ingesting, so it is not healthy ("mqtt source not connected: <reason>").
bool CheckHealth(const MqttSource& source, const buffer::GroupCommitter& committer,
                 std::string* why);

}  // namespace tidegate::agent
