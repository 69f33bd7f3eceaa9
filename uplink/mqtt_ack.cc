// SPDX-License-Identifier: Apache-2.0
#include "uplink/mqtt_ack.h"

#include <simdjson.h>

namespace tidegate::uplink {
namespace {

// Batch ids are "<buffer id>-<seq>-<seq>": letters, digits and '-'. Anything else is not ours.
bool PlausibleBatchId(std::string_view id) {
  if (id.empty() || id.size() > kMaxBatchIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string PrintableReason(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxAckReasonBytes)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  return out;
}

Result<SendResult::Kind> KindOf(std::string_view status) {
  if (status == "landed" || status == "duplicate") return SendResult::Kind::kAcked;
  if (status == "rejected") return SendResult::Kind::kRejected;
  if (status == "retry") return SendResult::Kind::kRetry;
  return InvalidArgument("ack with an unknown status");
}

}  // namespace

Result<MqttAck> ParseMqttAck(std::string_view payload) {
  if (payload.size() > kMaxAckPayloadBytes) return InvalidArgument("ack payload too large");
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(payload);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return InvalidArgument("ack is not JSON");
  }
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidArgument("ack is not a JSON object");
  }
  MqttAck ack;
  bool has_status = false;
  for (auto field : object) {
    std::string_view key;
    std::string_view value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return InvalidArgument("bad ack");
    if (key != "batch_id" && key != "status" && key != "reason") continue;
    if (field.value().get_string().get(value) != simdjson::SUCCESS) {
      return InvalidArgument("ack field " + std::string(key) + " is not a string");
    }
    if (key == "batch_id") {
      if (PlausibleBatchId(value)) ack.batch_id = std::string(value);
    } else if (key == "status") {
      TG_ASSIGN_OR_RETURN(ack.kind, KindOf(value));
      ack.status = std::string(value);
      has_status = true;
    } else {
      ack.reason = PrintableReason(value);
    }
  }
  if (!has_status) return InvalidArgument("ack without a status");
  if (ack.reason.empty() && ack.kind != SendResult::Kind::kAcked) ack.reason = ack.status;
  return ack;
}

std::optional<std::string> AckBatchId(std::string_view correlation_data, const MqttAck& ack) {
  if (PlausibleBatchId(correlation_data)) return std::string(correlation_data);
  if (!ack.batch_id.empty()) return ack.batch_id;
  return std::nullopt;
}

}  // namespace tidegate::uplink
