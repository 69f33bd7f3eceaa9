// SPDX-License-Identifier: Apache-2.0
// MQTT topic filters (MQTT 3.1.1 section 4.7): validation and matching, used for source
// topics, privacy rules and aggregations, plus what `config check` needs: whether two
// filters can match a common topic, and likely mistakes in a filter. Pure functions,
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tidegate {

// True if filter is a valid MQTT topic filter: '+' and '#' take whole levels, '#' only last.
bool IsValidTopicFilter(std::string_view filter);

// True if topic matches filter. Topics starting with '$' match no leading wildcard.
bool TopicMatches(std::string_view filter, std::string_view topic);

// True if at least one topic matches both filters: '+' stands for any one level (an empty
// one too), '#' for any number of levels including none ("a/#" matches "a"), and a topic
// starting with '$' matches no filter whose first level is a wildcard ("#" and "$SYS/#"
// share nothing). REQUIRES: both are valid filters.
bool TopicFiltersOverlap(std::string_view a, std::string_view b);

// True if some topic that filter matches has a non-empty level at 0-based index `level`
// (where events.device_id.from_topic reads the device id). REQUIRES: a valid filter.
bool TopicFilterCanHaveLevel(std::string_view filter, size_t level);

// The filter that a subscription filter applies to topics: "$share/GROUP/f" (an MQTT 5
// shared subscription) -> "f"; any other filter unchanged.
std::string_view SubscribedTopicFilter(std::string_view filter);

// Valid but probably unintended filters, one sentence each (empty if none): a literal '*'
// (the wildcards are + and #), a leading or trailing '/' or an empty level in between (each
// matches only topics with an empty level there).
std::vector<std::string> TopicFilterMistakes(std::string_view filter);

}  // namespace tidegate
