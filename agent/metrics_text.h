// SPDX-License-Identifier: Apache-2.0
// A reader of the Prometheus text format as the agent's own metrics page writes it, for
// `tidegate status`: the samples with their labels; comments and timestamps are skipped.
// Pure functions; any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::agent {

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// kInvalidArgument naming the line number for a line that is not a sample.
Result<std::vector<MetricSample>> ParseMetricsText(std::string_view page);

// The value of the first sample named `name` whose labels include every pair of `labels`.
std::optional<double> FindSample(const std::vector<MetricSample>& samples, std::string_view name,
                                 const std::map<std::string, std::string>& labels = {});

// Every sample of a family, in page order.
std::vector<const MetricSample*> FamilySamples(const std::vector<MetricSample>& samples,
                                               std::string_view name);

}  // namespace tidegate::agent
