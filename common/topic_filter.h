// SPDX-License-Identifier: Apache-2.0
// MQTT topic filters (MQTT 3.1.1 section 4.7): validation and matching, used for source
// topics, privacy rules and aggregations. Pure functions, thread-safe.
#pragma once

#include <string_view>

namespace tidegate {

// True if filter is a valid MQTT topic filter: '+' and '#' take whole levels, '#' only last.
bool IsValidTopicFilter(std::string_view filter);

// True if topic matches filter. Topics starting with '$' match no leading wildcard.
bool TopicMatches(std::string_view filter, std::string_view topic);

}  // namespace tidegate
