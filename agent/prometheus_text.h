// SPDX-License-Identifier: Apache-2.0
// Writers for the Prometheus text exposition format (version 0.0.4) that the metrics page is
// made of: a HELP and TYPE header per family, samples with escaped label values, and
// histograms. Pure functions; any thread.
//
// Why not prometheus-cpp (Debian 12 prometheus-cpp-dev 1.0.1), measured on amd64 with a
// page shaped like ours (~95 series, 2 histograms): its core library adds 137 KB (126 KB
// text), against 26 KB of text for all our page code in bin/tidegate (18 functions, 450
// lines with the histogram writer); its registry keeps 36.8 KB of heap for the families and
// a scrape allocates 16 KB more, where ours keeps nothing (the counters are the pipeline's
// own atomics) and a scrape allocates only the page (12 KB). Our counters live in buffer/
// and uplink/, which may not depend on it, so we would copy every value into its registry
// at each scrape and still write every name and help text.
// The format is checked by a real parser (tests/integration/e2e_metrics_test.cc).
#pragma once

#include <string>
#include <string_view>

#include "common/duration_histogram.h"

namespace tidegate::agent {

// `value` with \, " and newline escaped, as a label value must be.
std::string EscapeLabelValue(std::string_view value);

// `key="value"` with the value escaped; join several with ',' inside {}.
std::string Label(std::string_view key, std::string_view value);

// # HELP and # TYPE lines of a family. type is counter, gauge or histogram.
void FamilyHeader(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help);

// One sample line; labels is empty or "{k=\"v\",...}".
void Sample(std::string* out, std::string_view name, double value, std::string_view labels = "");

// A family of one unlabelled sample.
void Metric(std::string* out, std::string_view name, std::string_view type, std::string_view help,
            double value);

// A histogram family of durations in seconds: _bucket{le=...} lines, _sum and _count.
void Histogram(std::string* out, std::string_view name, std::string_view help,
               const DurationHistogram::Snapshot& snapshot);

}  // namespace tidegate::agent
