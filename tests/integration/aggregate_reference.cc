// SPDX-License-Identifier: Apache-2.0
#include "tests/integration/aggregate_reference.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/time_format.h"
#include "tests/integration/e2e_fixture.h"

namespace tidegate::testing {
namespace {

// __extension__: no -Wpedantic warning for __int128.
__extension__ using Wide = __int128;
constexpr int kFixedBits = 60;  // every double >= 2^-8 is a whole multiple of 2^-60

// The exact sum of values, rounded to double once: fixed point in 128 bits, so the order of
// the values cannot matter. False if a value is too small to be exact in this scale.
bool ExactFixedPointSum(const std::vector<double>& values, double* sum) {
  Wide total = 0;
  for (double v : values) {
    double scaled = std::ldexp(v, kFixedBits);
    if (scaled != std::trunc(scaled) || std::fabs(scaled) >= 0x1p100) return false;
    // Split into two exact halves: a double holds at most 53 significant bits.
    double high = std::trunc(std::ldexp(scaled, -50));
    double low = scaled - std::ldexp(high, 50);
    total += (static_cast<Wide>(static_cast<int64_t>(high)) << 50) +
             static_cast<Wide>(static_cast<int64_t>(low));
  }
  // Rounded to nearest by the conversion (GCC's __floattidf), then scaled back exactly.
  *sum = std::ldexp(static_cast<double>(total), -kFixedBits);
  return true;
}

double LowerRankQuantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  auto idx = static_cast<size_t>(std::floor(q * static_cast<double>(values.size() - 1)));
  return values[idx];
}

struct RefWindow {
  std::map<std::string, std::vector<std::pair<int64_t, double>>> values;  // field -> (ts, v)
};

int64_t FloorTo(int64_t t, int64_t size) {
  int64_t q = t / size;
  if (t % size != 0 && t < 0) --q;
  return q * size;
}

Result<LandedAggregate> ParseLine(simdjson::dom::parser& parser, const std::string& line) {
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc)) return InvalidArgument("not JSON");
  LandedAggregate a;
  std::string_view text;
  if (doc["name"].get_string().get(text)) return InvalidArgument("no name");
  a.name = std::string(text);
  if (doc["key"].get_string().get(text)) return InvalidArgument("no key");
  a.key = std::string(text);
  if (doc["window_start"].get_string().get(text)) return InvalidArgument("no window_start");
  TG_ASSIGN_OR_RETURN(a.window_start, ParseRfc3339Ms(text));
  if (doc["window_end"].get_string().get(text)) return InvalidArgument("no window_end");
  TG_ASSIGN_OR_RETURN(a.window_end, ParseRfc3339Ms(text));
  uint64_t revision = 0;
  if (doc["revision"].get_uint64().get(revision)) return InvalidArgument("no revision");
  a.revision = static_cast<uint32_t>(revision);
  if (doc["final"].get_bool().get(a.final)) return InvalidArgument("no final");
  simdjson::dom::object measures;
  if (doc["measures"].get_object().get(measures)) return InvalidArgument("no measures");
  for (auto [field, stats] : measures) {
    simdjson::dom::object stat_object;
    if (stats.get_object().get(stat_object)) return InvalidArgument("bad measure");
    for (auto [stat, value] : stat_object) {
      double v = 0;
      if (value.get_double().get(v)) return InvalidArgument("bad stat value");
      a.measures[std::string(field)][std::string(stat)] = v;
    }
  }
  return a;
}

}  // namespace

Result<std::vector<LandedAggregate>> ParseLandedAggregates(std::string_view ndjson) {
  simdjson::dom::parser parser;
  return ParseNdjson<LandedAggregate>(
      ndjson, "aggregates", [&](const std::string& line) { return ParseLine(parser, line); });
}

std::string ComparisonReport::Summary() const {
  std::string s = fmt::format(
      "reference windows {}, landed windows {}, values compared {}, revised windows {}, "
      "mismatches {}",
      reference_windows, landed_windows, compared_values, revised_windows, mismatches.size());
  for (size_t i = 0; i < mismatches.size() && i < 10; ++i) s += "\n  " + mismatches[i];
  return s;
}

namespace {

using RefKey = std::pair<std::string, int64_t>;  // (device, window start)

// The brute-force grouping.
std::map<RefKey, RefWindow> BuildReference(const std::vector<Reading>& readings,
                                           const ReferenceOptions& opts, ComparisonReport& report) {
  std::map<RefKey, RefWindow> reference;
  simdjson::dom::parser parser;
  for (const Reading& r : readings) {
    RefWindow& w = reference[{r.device_id, FloorTo(r.ts_ms, opts.window_ms)}];
    simdjson::dom::element doc;
    if (parser.parse(r.payload).get(doc)) {
      report.mismatches.emplace_back("reading payload is not JSON");
      continue;
    }
    for (const auto& [field, stats] : opts.fields) {
      double v = 0;
      if (!doc[field].get_double().get(v)) w.values["/" + field].emplace_back(r.ts_ms, v);
    }
  }
  return reference;
}

// Compares one field's landed stats with the reference values of one window.
void CompareField(const std::string& where, const std::string& field,
                  const std::vector<std::pair<int64_t, double>>& points,
                  const std::map<std::string, double>& stats, const ReferenceOptions& opts,
                  ComparisonReport& report) {
  auto mismatch = [&](const std::string& stat, double got, double want) {
    report.mismatches.push_back(
        fmt::format("{} {} {}: landed {} reference {}", where, field, stat, got, want));
  };
  auto stat = [&](const std::string& name) {
    auto s = stats.find(name);
    return s == stats.end() ? std::nan("") : s->second;
  };
  std::vector<double> values;
  int64_t last_ts = points.front().first;
  for (const auto& [ts, v] : points) {
    values.push_back(v);
    last_ts = std::max(last_ts, ts);
  }
  auto asked = [&](const std::string& name) {
    const auto& wanted = opts.fields.at(field.substr(1));
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) return false;
    if (stats.count(name) != 0) return true;
    report.mismatches.push_back(where + " " + field + " " + name + ": missing");
    return false;
  };
  auto exact = [&](const std::string& name, double want) {
    if (!asked(name)) return;
    ++report.compared_values;
    if (stat(name) != want) mismatch(name, stat(name), want);
  };
  exact("count", static_cast<double>(values.size()));
  exact("min", *std::min_element(values.begin(), values.end()));
  exact("max", *std::max_element(values.begin(), values.end()));
  double sum = 0;
  if (!ExactFixedPointSum(values, &sum)) {
    report.mismatches.push_back(where + " " + field + ": value too small for the reference");
    return;
  }
  exact("sum", sum);
  double avg = sum / static_cast<double>(values.size());
  if (asked("avg")) {
    ++report.compared_values;
    if (!(std::fabs(stat("avg") - avg) <= 1e-9 * std::fabs(avg))) mismatch("avg", stat("avg"), avg);
  }
  for (const auto& [name, q] :
       {std::pair<const char*, double>{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}}) {
    if (!asked(name)) continue;
    ++report.compared_values;
    double want = LowerRankQuantile(values, q);
    // 1e-12 absorbs the last-bit rounding of the bucket's representative value.
    if (!(std::fabs(stat(name) - want) <= opts.quantile_error * std::fabs(want) + 1e-12)) {
      mismatch(name, stat(name), want);
    }
  }
  if (asked("last")) {
    ++report.compared_values;
    bool found = false;
    for (const auto& [ts, v] : points) found = found || (ts == last_ts && v == stat("last"));
    if (!found) mismatch("last", stat("last"), std::nan(""));
  }
}

}  // namespace

ComparisonReport CompareWithReference(const std::vector<Reading>& readings,
                                      const std::vector<LandedAggregate>& landed,
                                      const ReferenceOptions& opts) {
  ComparisonReport report;
  std::map<RefKey, RefWindow> reference = BuildReference(readings, opts, report);
  report.reference_windows = reference.size();

  std::map<RefKey, const LandedAggregate*> by_key;
  for (const LandedAggregate& a : landed) {
    if (a.name != opts.name) continue;
    ++report.landed_windows;
    if (a.revision > 0) ++report.revised_windows;
    by_key[{a.key, a.window_start}] = &a;
    if (reference.count({a.key, a.window_start}) == 0) {
      report.mismatches.push_back(fmt::format(
          "landed window {} @{} has no reading in the reference", a.key, a.window_start));
    }
  }
  for (const auto& [key, w] : reference) {
    std::string where = fmt::format("{} @{}", key.first, key.second);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      report.mismatches.push_back(where + ": never landed");
      continue;
    }
    const LandedAggregate& a = *it->second;
    if (!a.final) report.mismatches.push_back(where + ": not final");
    if (a.window_end != key.second + opts.window_ms) {
      report.mismatches.push_back(where + ": wrong window_end");
    }
    for (const auto& [field, points] : w.values) {
      auto m = a.measures.find(field);
      if (m == a.measures.end()) {
        report.mismatches.push_back(fmt::format("{} {}: missing", where, field));
        continue;
      }
      CompareField(where, field, points, m->second, opts, report);
    }
  }
  return report;
}

}  // namespace tidegate::testing
