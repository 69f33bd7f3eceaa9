// SPDX-License-Identifier: Apache-2.0
#include "agent/metrics_text.h"

#include <cstdlib>

namespace tidegate::agent {
namespace {

// Reads `{k="v",...}` at the front of *rest; false if malformed.
bool ParseLabels(std::string_view* rest, std::map<std::string, std::string>* labels) {
  rest->remove_prefix(1);  // '{'
  while (!rest->empty() && rest->front() != '}') {
    const size_t eq = rest->find('=');
    if (eq == std::string_view::npos || eq + 1 >= rest->size() || (*rest)[eq + 1] != '"') {
      return false;
    }
    std::string key(rest->substr(0, eq));
    rest->remove_prefix(eq + 2);
    std::string value;
    while (!rest->empty() && rest->front() != '"') {
      char c = rest->front();
      rest->remove_prefix(1);
      if (c == '\\' && !rest->empty()) {
        c = rest->front() == 'n' ? '\n' : rest->front();
        rest->remove_prefix(1);
      }
      value += c;
    }
    if (rest->empty()) return false;
    rest->remove_prefix(1);  // closing quote
    (*labels)[key] = std::move(value);
    if (!rest->empty() && rest->front() == ',') rest->remove_prefix(1);
  }
  if (rest->empty()) return false;
  rest->remove_prefix(1);  // '}'
  return true;
}

std::optional<MetricSample> ParseLine(std::string_view line) {
  MetricSample sample;
  const size_t end = line.find_first_of("{ ");
  if (end == 0 || end == std::string_view::npos) return std::nullopt;
  sample.name = std::string(line.substr(0, end));
  std::string_view rest = line.substr(end);
  if (rest.front() == '{' && !ParseLabels(&rest, &sample.labels)) return std::nullopt;
  if (rest.empty() || rest.front() != ' ') return std::nullopt;
  const std::string number(rest.substr(1, rest.find(' ', 1) - 1));
  char* parsed_end = nullptr;
  sample.value = std::strtod(number.c_str(), &parsed_end);
  if (number.empty() || parsed_end != number.c_str() + number.size()) return std::nullopt;
  return sample;
}

}  // namespace

Result<std::vector<MetricSample>> ParseMetricsText(std::string_view page) {
  std::vector<MetricSample> samples;
  size_t line_no = 0;
  while (!page.empty()) {
    const size_t newline = page.find('\n');
    const std::string_view line = page.substr(0, newline);
    page.remove_prefix(newline == std::string_view::npos ? page.size() : newline + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::optional<MetricSample> sample = ParseLine(line);
    if (!sample) {
      return InvalidArgument("metrics page line " + std::to_string(line_no) + " is not a sample");
    }
    samples.push_back(std::move(*sample));
  }
  return samples;
}

std::optional<double> FindSample(const std::vector<MetricSample>& samples, std::string_view name,
                                 const std::map<std::string, std::string>& labels) {
  for (const MetricSample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = s.labels.find(key);
      if (it == s.labels.end() || it->second != value) match = false;
    }
    if (match) return s.value;
  }
  return std::nullopt;
}

std::vector<const MetricSample*> FamilySamples(const std::vector<MetricSample>& samples,
                                               std::string_view name) {
  std::vector<const MetricSample*> out;
  for (const MetricSample& s : samples) {
    if (s.name == name) out.push_back(&s);
  }
  return out;
}

}  // namespace tidegate::agent
