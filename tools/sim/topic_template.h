// SPDX-License-Identifier: Apache-2.0
// Topic templates of tidegate-sim's --topic: a topic name in which {device} stands for the
// event's device id, with an optional weight ("devices/{device}/alarms@1"). With several
// templates each event picks one at random in proportion to the weights, so a run can mix
// telemetry with rarer alarms. Immutable after parsing; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::sim {

struct TopicTemplate {
  std::string pattern;  // e.g. "devices/{device}/alarms"
  uint32_t weight = 1;  // relative share of events, >= 1
};

// Parses "PATTERN[@WEIGHT]". The weight is the digits after the last '@' (1 to 1000000);
// without one, or when what follows the last '@' is not all digits, the weight is 1 and the
// whole text is the pattern (write "name@5@1" for a topic that ends in "@5"). The pattern
// must be a valid topic name for publishing: not empty, no + or # wildcard, no NUL, at most
// 65535 bytes; its only placeholder is {device} (others, and a lone { or }, are refused so a
// typo does not publish to a literal "{devcie}"). kInvalidArgument says what is wrong.
Result<TopicTemplate> ParseTopicTemplate(std::string_view spec);

// The pattern with every {device} replaced by device_id.
std::string ExpandTopic(std::string_view pattern, std::string_view device_id);

// Picks among templates in proportion to their weights.
class TopicChooser {
 public:
  // REQUIRES: templates not empty (ParseTopicTemplate-valid).
  explicit TopicChooser(std::vector<TopicTemplate> templates);

  // The template for a uniform draw in [0, total_weight()).
  const TopicTemplate& Pick(uint64_t draw) const;
  uint64_t total_weight() const { return total_; }
  size_t size() const { return templates_.size(); }

 private:
  std::vector<TopicTemplate> templates_;
  std::vector<uint64_t> cumulative_;  // running sums of the weights
  uint64_t total_ = 0;
};

}  // namespace tidegate::sim
