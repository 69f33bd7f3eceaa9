// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/topic_template.h"

#include <algorithm>
#include <cassert>
#include <charconv>

namespace tidegate::sim {
namespace {

constexpr std::string_view kDevice = "{device}";
constexpr uint32_t kMaxWeight = 1'000'000;
constexpr size_t kMaxTopicBytes = 65'535;  // MQTT's limit on a UTF-8 string

Status CheckPattern(std::string_view pattern) {
  if (pattern.empty()) return InvalidArgument("--topic: empty topic");
  if (pattern.size() > kMaxTopicBytes) return InvalidArgument("--topic: longer than 65535 bytes");
  if (pattern.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos) {
    return InvalidArgument("--topic '" + std::string(pattern) +
                           "': wildcards + and # (and NUL) are not allowed in a topic name");
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.compare(i, kDevice.size(), kDevice) == 0) {
      i += kDevice.size() - 1;
    } else if (pattern[i] == '{' || pattern[i] == '}') {
      return InvalidArgument("--topic '" + std::string(pattern) +
                             "': the only placeholder is {device}");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<TopicTemplate> ParseTopicTemplate(std::string_view spec) {
  TopicTemplate parsed{.pattern = std::string(spec), .weight = 1};
  const size_t at = spec.rfind('@');
  if (at != std::string_view::npos && at + 1 < spec.size()) {
    const std::string_view digits = spec.substr(at + 1);
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      uint64_t weight = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), weight);
      if (ec != std::errc() || end != digits.data() + digits.size() || weight < 1 ||
          weight > kMaxWeight) {
        return InvalidArgument("--topic '" + std::string(spec) +
                               "': the weight after @ must be 1 to 1000000");
      }
      parsed.pattern = std::string(spec.substr(0, at));
      parsed.weight = static_cast<uint32_t>(weight);
    }
  }
  TG_RETURN_IF_ERROR(CheckPattern(parsed.pattern));
  return parsed;
}

std::string ExpandTopic(std::string_view pattern, std::string_view device_id) {
  std::string out;
  out.reserve(pattern.size() + device_id.size());
  while (true) {
    const size_t at = pattern.find(kDevice);
    out += pattern.substr(0, at);
    if (at == std::string_view::npos) return out;
    out += device_id;
    pattern.remove_prefix(at + kDevice.size());
  }
}

TopicChooser::TopicChooser(std::vector<TopicTemplate> templates)
    : templates_(std::move(templates)) {
  assert(!templates_.empty());
  for (const TopicTemplate& t : templates_) {
    total_ += t.weight;
    cumulative_.push_back(total_);
  }
}

const TopicTemplate& TopicChooser::Pick(uint64_t draw) const {
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), draw % total_);
  return templates_[static_cast<size_t>(it - cumulative_.begin())];
}

}  // namespace tidegate::sim
