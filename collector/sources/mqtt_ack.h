// SPDX-License-Identifier: Apache-2.0
// The collector's side of the MQTT v5 uplink protocol that is pure string work: the agent_id
// in a batch topic, the only response topic an ack may go to, the ack's JSON body, and the
// mqtts:// broker URL. Everything here takes untrusted input and bounds it. Pure functions,
// thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::collector {

inline constexpr size_t kMaxAckReasonBytes = 200;
inline constexpr size_t kMaxAgentIdBytes = 256;

// "tidegate/<agent_id>/batches" -> agent_id; nullopt for any other shape, an empty id, one
// longer than kMaxAgentIdBytes, or one with a wildcard or NUL (the broker never delivers
// such topics, but nothing from the network is trusted).
std::optional<std::string> AgentIdFromBatchTopic(std::string_view topic);

// "tidegate/<agent_id>/acks": the only topic an ack for that agent may be published to.
std::string AckTopicFor(std::string_view agent_id);

enum class AckStatus { kLanded, kDuplicate, kRejected, kRetry };
std::string_view AckStatusName(AckStatus status);

// {"batch_id":"<id>","status":"<status>"} plus "reason" for kRejected and kRetry. `reason`
// is cut to kMaxAckReasonBytes at a UTF-8 boundary; an id or reason that is not UTF-8 is
// replaced by "<invalid utf-8>".
std::string AckJson(std::string_view batch_id, AckStatus status, std::string_view reason);

struct MqttBrokerUrl {
  std::string host;
  int port = 8883;
};

// "mqtts://HOST[:PORT]" (TLS only; the default port is 8883; IPv6 as [addr]). Anything else
// is kInvalidArgument naming the problem.
Result<MqttBrokerUrl> ParseMqttBrokerUrl(std::string_view url);

// A shared-subscription group name: 1-64 bytes of letters, digits, '-', '_' and '.'.
Status ValidateGroupName(std::string_view group);

}  // namespace tidegate::collector
