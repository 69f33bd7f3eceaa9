// SPDX-License-Identifier: Apache-2.0
#include "common/topic_filter.h"

namespace tidegate {
namespace {

// Splits off the next level of text at *pos; false when there is none left.
bool NextLevel(std::string_view text, size_t* pos, std::string_view* level) {
  if (*pos > text.size()) return false;
  size_t slash = text.find('/', *pos);
  size_t end = slash == std::string_view::npos ? text.size() : slash;
  *level = text.substr(*pos, end - *pos);
  *pos = end + 1;
  return true;
}

}  // namespace

bool IsValidTopicFilter(std::string_view filter) {
  if (filter.empty() || filter.size() > 65535) return false;
  size_t pos = 0;
  std::string_view level;
  while (NextLevel(filter, &pos, &level)) {
    bool has_wildcard = level.find_first_of("+#") != std::string_view::npos;
    if (has_wildcard && level.size() != 1) return false;
    if (level == "#" && pos <= filter.size()) return false;  // '#' must be the last level
  }
  return filter.find('\0') == std::string_view::npos;
}

bool TopicMatches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic[0] == '$' && !filter.empty() &&
      (filter[0] == '+' || filter[0] == '#')) {
    return false;
  }
  size_t fpos = 0, tpos = 0;
  std::string_view flevel, tlevel;
  while (NextLevel(filter, &fpos, &flevel)) {
    if (flevel == "#") return true;
    if (!NextLevel(topic, &tpos, &tlevel)) return false;
    if (flevel != "+" && flevel != tlevel) return false;
  }
  return tpos > topic.size();
}

}  // namespace tidegate
