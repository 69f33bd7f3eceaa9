// SPDX-License-Identifier: Apache-2.0
// The text `tidegate status` prints for a person at a terminal, made from what the running
// agent serves: its /metrics samples and its /readyz verdict. Counts, names and durations
// only: the page carries no payload values and neither does this. Pure; any thread.
#pragma once

#include <string>
#include <vector>

#include "agent/metrics_text.h"

namespace tidegate::agent {

struct StatusInputs {
  std::string listen;  // where the agent answered, HOST:PORT
  std::vector<MetricSample> samples;
  bool ready = false;
  std::string not_ready_reasons;  // /readyz's body when not ready, one reason a line
};

// Aligned "label: value" lines, ending with a newline.
std::string FormatStatus(const StatusInputs& in);

}  // namespace tidegate::agent
