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

std::vector<std::string_view> Levels(std::string_view filter) {
  std::vector<std::string_view> levels;
  size_t pos = 0;
  std::string_view level;
  while (NextLevel(filter, &pos, &level)) levels.push_back(level);
  return levels;
}

bool IsWildcard(std::string_view level) { return level == "+" || level == "#"; }

// True if a filter starting with level `wild` can never match a topic starting with level
// `literal`: wildcards in the first level skip '$' topics ($SYS/...).
bool DollarRuleSeparates(std::string_view wild, std::string_view literal) {
  return IsWildcard(wild) && !IsWildcard(literal) && !literal.empty() && literal[0] == '$';
}

std::string Quoted(std::string_view filter) { return "'" + std::string(filter) + "'"; }

// " (did you mean 'x'?)" for a non-empty suggestion, else "".
std::string DidYouMean(std::string_view suggestion) {
  if (suggestion.empty()) return "";
  return " (did you mean " + Quoted(suggestion) + "?)";
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

bool TopicFiltersOverlap(std::string_view a, std::string_view b) {
  const std::vector<std::string_view> la = Levels(a);
  const std::vector<std::string_view> lb = Levels(b);
  if (la.empty() || lb.empty()) return false;
  if (DollarRuleSeparates(la[0], lb[0]) || DollarRuleSeparates(lb[0], la[0])) return false;
  size_t i = 0;
  for (; i < la.size() && i < lb.size(); ++i) {
    if (la[i] == "#" || lb[i] == "#") return true;
    if (la[i] != "+" && lb[i] != "+" && la[i] != lb[i]) return false;
  }
  if (la.size() == lb.size()) return true;
  // The longer one goes on past the shorter's last level: only '#', which also matches
  // its parent level ("a/#" matches "a"), still shares a topic.
  const std::vector<std::string_view>& longer = la.size() > lb.size() ? la : lb;
  return longer[i] == "#";
}

bool TopicFilterCanHaveLevel(std::string_view filter, size_t level) {
  const std::vector<std::string_view> levels = Levels(filter);
  for (size_t i = 0; i < levels.size() && i <= level; ++i) {
    if (levels[i] == "#") return true;  // any number of levels, any text
    if (i == level) return !levels[i].empty();
  }
  return false;
}

std::string_view SubscribedTopicFilter(std::string_view filter) {
  constexpr std::string_view kShare = "$share/";
  if (filter.substr(0, kShare.size()) != kShare) return filter;
  size_t slash = filter.find('/', kShare.size());
  if (slash == std::string_view::npos) return filter;
  return filter.substr(slash + 1);
}

std::vector<std::string> TopicFilterMistakes(std::string_view filter) {
  std::vector<std::string> mistakes;
  if (filter.empty()) return mistakes;
  if (filter.find('*') != std::string_view::npos) {
    mistakes.push_back(Quoted(filter) +
                       " has a literal '*': MQTT's wildcards are + (one level) and # (all "
                       "levels below)");
  }
  if (filter.front() == '/') {
    mistakes.push_back(Quoted(filter) +
                       " starts with '/', so it matches only topics whose first level is "
                       "empty" +
                       DidYouMean(filter.substr(1)));
  }
  if (filter.size() > 1 && filter.back() == '/') {
    std::string_view parent = filter.substr(0, filter.size() - 1);
    mistakes.push_back(Quoted(filter) +
                       " ends with '/', so it matches only topics whose last level is empty "
                       "(did you mean " +
                       Quoted(parent) + " or " + Quoted(std::string(parent) + "/#") + "?)");
  }
  if (filter.find("//") != std::string_view::npos) {
    mistakes.push_back(Quoted(filter) +
                       " has an empty level ('//'), so it matches only topics with an empty "
                       "level there");
  }
  return mistakes;
}

}  // namespace tidegate
