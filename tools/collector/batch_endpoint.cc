// SPDX-License-Identifier: Apache-2.0
#include "tools/collector/batch_endpoint.h"

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

// Ids come from the network: quoted and escaped they cannot forge log lines.
std::string Quoted(std::string_view id) {
  std::string out;
  if (IsValidUtf8(id)) {
    AppendJsonString(&out, id);
  } else {
    out = "<invalid utf-8>";
  }
  return out;
}

HttpReply JsonReply(int status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.body.push_back('\n');
  return reply;
}

HttpReply LandedReply(const schema::DecodedBatch& batch, const LandOutcome& outcome) {
  std::string body = outcome.duplicate ? R"({"status":"duplicate","batch_id":)"
                                       : R"({"status":"landed","batch_id":)";
  AppendJsonString(&body, batch.batch_id);
  if (!outcome.duplicate) {
    fmt::format_to(std::back_inserter(body), R"(,"events":{},"window_results":{})", outcome.events,
                   outcome.window_results);
  }
  body.push_back('}');
  return JsonReply(200, std::move(body));
}

HttpReply StorageError() {
  std::string reply = R"({"status":"error","error":)";
  AppendJsonString(&reply, "storage error, retry later");
  reply.push_back('}');
  return JsonReply(500, std::move(reply));
}

}  // namespace

bool MediaTypeIs(std::string_view header_value, std::string_view media_type) {
  size_t semicolon = header_value.find(';');
  return EqualsIgnoreCase(Trim(header_value.substr(0, semicolon)), media_type);
}

BatchEndpoint::BatchEndpoint(LandingStore& store, Limits limits, const RawArchive* raw,
                             const FieldDecryptor* decryptor)
    : store_(store), limits_(limits), raw_(raw), decryptor_(decryptor) {}

std::optional<HttpReply> BatchEndpoint::CheckHeaders(const BatchHeaders& headers) {
  if (!MediaTypeIs(headers.content_type, kBatchContentType)) {
    return Reject(415, fmt::format("Content-Type must be {}", kBatchContentType));
  }
  if (!EqualsIgnoreCase(Trim(headers.content_encoding), "zstd")) {
    return Reject(415, "Content-Encoding must be zstd");
  }
  if (headers.content_length && *headers.content_length > limits_.max_body_bytes) {
    return Reject(413, fmt::format("body of {} bytes exceeds the limit of {} bytes",
                                   *headers.content_length, limits_.max_body_bytes));
  }
  if (Trim(headers.idempotency_key).empty()) {
    return Reject(400, "Idempotency-Key header is required (the batch_id)");
  }
  return std::nullopt;
}

HttpReply BatchEndpoint::HandleBody(std::string_view idempotency_key, std::string_view body,
                                    const std::vector<std::string>* client_identities) {
  if (body.size() > limits_.max_body_bytes) {
    return Reject(413, fmt::format("body exceeds the limit of {} bytes", limits_.max_body_bytes));
  }
  if (raw_ != nullptr) {
    if (Status kept = raw_->Keep(Trim(idempotency_key), body); !kept.ok()) {
      spdlog::error("{}", kept.ToString());
      return StorageError();
    }
  }
  Result<std::string> plain = schema::DecompressBatch(body, limits_.max_decompressed_bytes);
  if (!plain.ok()) return Reject(400, plain.status().message());
  Result<schema::DecodedBatch> batch = schema::DecodeBatch(*plain);
  if (!batch.ok()) return Reject(400, batch.status().message());
  if (batch->schema_version > schema::kSchemaVersion) {
    return Reject(400, fmt::format("schema_version {} is newer than this collector's {}",
                                   batch->schema_version, schema::kSchemaVersion));
  }
  if (Trim(idempotency_key) != batch->batch_id) {
    return Reject(400, "Idempotency-Key does not match the batch_id in the body");
  }
  if (client_identities != nullptr &&
      std::find(client_identities->begin(), client_identities->end(), batch->agent_id) ==
          client_identities->end()) {
    forbidden_.fetch_add(1, std::memory_order_relaxed);
    return Reject(403, fmt::format("the client certificate ({}) does not name agent_id {}",
                                   fmt::join(*client_identities, ", "), batch->agent_id));
  }
  if (decryptor_) decryptor_->DecryptBatch(&*batch);
  Result<LandOutcome> outcome = store_.Land(*batch);
  if (!outcome.ok()) {
    spdlog::error("landing failed batch_id={} agent_id={}: {}", Quoted(batch->batch_id),
                  Quoted(batch->agent_id), outcome.status().ToString());
    return StorageError();
  }
  if (outcome->duplicate) {
    spdlog::info("duplicate batch_id={} agent_id={}", Quoted(batch->batch_id),
                 Quoted(batch->agent_id));
  } else {
    spdlog::info("landed batch_id={} agent_id={} events={} window_results={}",
                 Quoted(batch->batch_id), Quoted(batch->agent_id), outcome->events,
                 outcome->window_results);
  }
  return LandedReply(*batch, *outcome);
}

HttpReply BatchEndpoint::Reject(int status, std::string_view reason) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("rejected batch status={} reason={}", status, Quoted(reason));
  std::string body = R"({"status":"rejected","error":)";
  AppendJsonString(&body, IsValidUtf8(reason) ? reason : "invalid request");
  body.push_back('}');
  return JsonReply(status, std::move(body));
}

HttpReply BatchEndpoint::Stats() {
  Result<LandingCounts> counts = store_.Counts();
  if (!counts.ok()) {
    spdlog::error("reading stats failed: {}", counts.status().ToString());
    return JsonReply(500, R"({"status":"error","error":"storage error"})");
  }
  return JsonReply(200,
                   fmt::format(R"({{"batches_landed":{},"batches_duplicate":{},)"
                               R"("batches_rejected":{},"events":{},"window_results":{},)"
                               R"("batches_forbidden":{}}})",
                               counts->batches_landed, counts->batches_duplicate,
                               rejected_.load(std::memory_order_relaxed), counts->events,
                               counts->window_results, forbidden_.load(std::memory_order_relaxed)));
}

}  // namespace tidegate::collector
