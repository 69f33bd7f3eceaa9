// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/batch_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <iterator>

#include "common/json_escape.h"
#include "schema/batch_view.h"

namespace tidegate::collector {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

HttpReply JsonReply(int status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.body.push_back('\n');
  return reply;
}

HttpReply LandedReply(const IntakeOutcome& outcome) {
  bool duplicate = outcome.verdict == IntakeVerdict::kDuplicate;
  std::string body =
      duplicate ? R"({"status":"duplicate","batch_id":)" : R"({"status":"landed","batch_id":)";
  AppendJsonString(&body, outcome.batch_id);
  if (!duplicate) {
    fmt::format_to(std::back_inserter(body), R"(,"events":{},"window_results":{})", outcome.events,
                   outcome.window_results);
  }
  body.push_back('}');
  return JsonReply(200, std::move(body));
}

HttpReply RejectedReply(int status, std::string_view reason) {
  std::string body = R"({"status":"rejected","error":)";
  AppendJsonString(&body, IsValidUtf8(reason) ? reason : "invalid request");
  body.push_back('}');
  return JsonReply(status, std::move(body));
}

int RejectStatus(RejectKind kind) {
  switch (kind) {
    case RejectKind::kTooLarge:
      return 413;
    case RejectKind::kForbidden:
      return 403;
    case RejectKind::kInvalid:
      break;
  }
  return 400;
}

// 500 for a storage failure, 503 for what this collector is not set up for yet (a dictionary):
// both are retried by the agent, with its backoff.
HttpReply RetryReply(const IntakeOutcome& outcome) {
  std::string reply = R"({"status":"error","error":)";
  AppendJsonString(&reply, outcome.reason.empty() ? "storage error, retry later" : outcome.reason);
  reply.push_back('}');
  return JsonReply(outcome.retry_kind == RetryKind::kMissingDictionary ? 503 : 500,
                   std::move(reply));
}

}  // namespace

bool MediaTypeIs(std::string_view header_value, std::string_view media_type) {
  size_t semicolon = header_value.find(';');
  return EqualsIgnoreCase(Trim(header_value.substr(0, semicolon)), media_type);
}

std::optional<HttpReply> BatchEndpoint::CheckHeaders(const BatchHeaders& headers) {
  if (!MediaTypeIs(headers.content_type, kBatchContentType)) {
    return Reject(415, fmt::format("Content-Type must be {}", kBatchContentType));
  }
  if (!EqualsIgnoreCase(Trim(headers.content_encoding), "zstd")) {
    return Reject(415, "Content-Encoding must be zstd");
  }
  if (headers.content_length && *headers.content_length > limits().max_body_bytes) {
    return Reject(413, fmt::format("body of {} bytes exceeds the limit of {} bytes",
                                   *headers.content_length, limits().max_body_bytes));
  }
  if (Trim(headers.idempotency_key).empty()) {
    return Reject(400, "Idempotency-Key header is required (the batch_id)");
  }
  return std::nullopt;
}

HttpReply BatchEndpoint::HandleBody(std::string_view idempotency_key, std::string_view body,
                                    const std::vector<std::string>* client_identities) {
  IntakeOutcome outcome = intake_.Accept(Trim(idempotency_key), body, client_identities);
  switch (outcome.verdict) {
    case IntakeVerdict::kLanded:
    case IntakeVerdict::kDuplicate:
      return LandedReply(outcome);
    case IntakeVerdict::kRejected:
      return RejectedReply(RejectStatus(outcome.reject_kind), outcome.reason);
    case IntakeVerdict::kRetry:
      break;
  }
  return RetryReply(outcome);
}

HttpReply BatchEndpoint::Reject(int status, std::string_view reason) {
  intake_.CountRejection(reason);
  return RejectedReply(status, reason);
}

HttpReply BatchEndpoint::Stats() {
  Result<IntakeCounts> counts = intake_.Counts();
  if (!counts.ok()) {
    spdlog::error("reading stats failed: {}", counts.status().ToString());
    return JsonReply(500, R"({"status":"error","error":"storage error"})");
  }
  std::string body =
      fmt::format(R"({{"batches_landed":{},"batches_duplicate":{},)"
                  R"("batches_rejected":{},"events":{},"window_results":{},)"
                  R"("batches_forbidden":{},"batches_unknown_dictionary":{})",
                  counts->landed.batches_landed, counts->landed.batches_duplicate, counts->rejected,
                  counts->landed.events, counts->landed.window_results, counts->forbidden,
                  counts->unknown_dictionary);
  if (extra_stats_) body += "," + extra_stats_();
  return JsonReply(200, body + "}");
}

}  // namespace tidegate::collector
