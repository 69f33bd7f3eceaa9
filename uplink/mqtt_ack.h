// SPDX-License-Identifier: Apache-2.0
// The collector's ack on tidegate/<agent_id>/acks (docs: the MQTT uplink protocol): a JSON
// object {"batch_id","status"[,"reason"]}. Untrusted bytes: the payload is bounded, the
// reason kept printable and short. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "uplink/transport.h"

namespace tidegate::uplink {

inline constexpr size_t kMaxAckPayloadBytes = 4096;
inline constexpr size_t kMaxAckReasonBytes = 200;
inline constexpr size_t kMaxBatchIdBytes = 256;

struct MqttAck {
  std::string batch_id;  // from the JSON; the correlation data takes precedence
  SendResult::Kind kind = SendResult::Kind::kRetry;
  std::string status;  // landed, duplicate, rejected or retry
  std::string reason;  // printable ASCII, at most kMaxAckReasonBytes
};

// Parses an ack payload; InvalidArgument (saying what, never echoing the bytes) for one
// that is too large, not a JSON object, or lacks a known status.
Result<MqttAck> ParseMqttAck(std::string_view payload);

// The batch id an ack is for: the correlation data when present and well-formed, else the
// JSON's batch_id; nullopt if neither names a batch.
std::optional<std::string> AckBatchId(std::string_view correlation_data, const MqttAck& ack);

}  // namespace tidegate::uplink
