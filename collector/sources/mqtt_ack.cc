// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/mqtt_ack.h"

#include <fmt/format.h>

#include <charconv>

#include "common/json_escape.h"

namespace tidegate::collector {
namespace {

constexpr std::string_view kTopicPrefix = "tidegate/";
constexpr std::string_view kBatchesSuffix = "/batches";
constexpr size_t kMaxGroupBytes = 64;

void AppendUntrusted(std::string* out, std::string_view text) {
  AppendJsonString(out, IsValidUtf8(text) ? text : "<invalid utf-8>");
}

// The longest prefix of `text` of at most `max` bytes that does not split a UTF-8 sequence.
std::string_view CutUtf8(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  return text.substr(0, end);
}

}  // namespace

std::optional<std::string> AgentIdFromBatchTopic(std::string_view topic) {
  if (topic.size() <= kTopicPrefix.size() + kBatchesSuffix.size() ||
      topic.substr(0, kTopicPrefix.size()) != kTopicPrefix ||
      topic.substr(topic.size() - kBatchesSuffix.size()) != kBatchesSuffix) {
    return std::nullopt;
  }
  std::string_view id =
      topic.substr(kTopicPrefix.size(), topic.size() - kTopicPrefix.size() - kBatchesSuffix.size());
  if (id.empty() || id.size() > kMaxAgentIdBytes ||
      id.find_first_of(std::string_view("/+#\0", 4)) != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(id);
}

std::string AckTopicFor(std::string_view agent_id) {
  return fmt::format("tidegate/{}/acks", agent_id);
}

std::string_view AckStatusName(AckStatus status) {
  switch (status) {
    case AckStatus::kLanded:
      return "landed";
    case AckStatus::kDuplicate:
      return "duplicate";
    case AckStatus::kRejected:
      return "rejected";
    case AckStatus::kRetry:
      return "retry";
  }
  return "retry";
}

std::string AckJson(std::string_view batch_id, AckStatus status, std::string_view reason) {
  std::string out = R"({"batch_id":)";
  AppendUntrusted(&out, batch_id);
  out += R"(,"status":")";
  out += AckStatusName(status);
  out += '"';
  if (status == AckStatus::kRejected || status == AckStatus::kRetry) {
    out += R"(,"reason":)";
    AppendUntrusted(&out, IsValidUtf8(reason) ? CutUtf8(reason, kMaxAckReasonBytes) : reason);
  }
  out += '}';
  return out;
}

Result<MqttBrokerUrl> ParseMqttBrokerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "mqtts://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument(
        fmt::format("--mqtt '{}': expected mqtts://HOST[:PORT] (TLS is required)", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  MqttBrokerUrl out;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 2) {
      return InvalidArgument(fmt::format("--mqtt '{}': unbalanced [ ] around the host", url));
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return InvalidArgument(fmt::format("--mqtt '{}': expected :PORT after ]", url));
    }
    if (!rest.empty()) port = rest.substr(1);
  } else {
    size_t colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    if (colon != std::string_view::npos && port.empty()) port = "x";  // "host:" is an error
  }
  if (out.host.empty() || out.host.find_first_of("/?#@ ") != std::string::npos) {
    return InvalidArgument(fmt::format("--mqtt '{}': expected mqtts://HOST[:PORT]", url));
  }
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || end != port.data() + port.size() || out.port < 1 || out.port > 65535) {
      return InvalidArgument(fmt::format("--mqtt '{}': port must be 1-65535", url));
    }
  }
  return out;
}

Status ValidateGroupName(std::string_view group) {
  if (group.empty() || group.size() > kMaxGroupBytes) {
    return InvalidArgument("--group must be 1-64 characters");
  }
  for (char c : group) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) {
      return InvalidArgument(
          fmt::format("--group '{}': only letters, digits, '-', '_' and '.' are allowed", group));
    }
  }
  return Status::Ok();
}

}  // namespace tidegate::collector
