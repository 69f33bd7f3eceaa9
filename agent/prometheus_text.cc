// SPDX-License-Identifier: Apache-2.0
#include "agent/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace tidegate::agent {
namespace {

// Go's ParseFloat spellings, which Prometheus reads; fmt would write "inf" and "nan".
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// HELP text escapes only \ and newline.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Label(std::string_view key, std::string_view value) {
  return fmt::format("{}=\"{}\"", key, EscapeLabelValue(value));
}

void FamilyHeader(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(help),
                 name, type);
}

void Sample(std::string* out, std::string_view name, double value, std::string_view labels) {
  fmt::format_to(std::back_inserter(*out), "{}{} {}\n", name, labels, FormatValue(value));
}

void Metric(std::string* out, std::string_view name, std::string_view type, std::string_view help,
            double value) {
  FamilyHeader(out, name, type, help);
  Sample(out, name, value);
}

void Histogram(std::string* out, std::string_view name, std::string_view help,
               const DurationHistogram::Snapshot& snapshot) {
  FamilyHeader(out, name, "histogram", help);
  for (size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
    fmt::format_to(std::back_inserter(*out), "{}_bucket{{le=\"{}\"}} {}\n", name,
                   DurationHistogram::kBounds[i], snapshot.cumulative[i]);
  }
  fmt::format_to(std::back_inserter(*out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n",
                 name, snapshot.count, name, FormatValue(snapshot.sum_seconds), name,
                 snapshot.count);
}

}  // namespace tidegate::agent
