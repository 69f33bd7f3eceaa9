// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/opamp_endpoint.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <utility>

#include "remote/opamp/instance_uid.h"
#include "remote/opamp/opamp.pb.h"
#include "remote/opamp/opamp_session.h"

namespace tidegate::collector {
namespace {

namespace pb = ::opamp::proto;
using remote::opamp::HexOf;

constexpr size_t kMaxErrorChars = 500;
constexpr size_t kMaxHealthStatusChars = 200;
constexpr uint64_t kServerCapabilities = pb::ServerCapabilities_AcceptsStatus |
                                         pb::ServerCapabilities_OffersRemoteConfig |
                                         pb::ServerCapabilities_AcceptsEffectiveConfig;

std::string Printable(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  return out;
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

// SHA-256 over the effective config's files in name order (name, NUL, body, NUL each).
std::string EffectiveConfigHash(const pb::EffectiveConfig& config) {
  std::vector<std::pair<std::string_view, std::string_view>> files;
  for (const auto& [name, file] : config.config_map().config_map()) {
    files.emplace_back(name, file.body());
  }
  std::sort(files.begin(), files.end());
  std::string all;
  for (const auto& [name, body] : files) {
    all.append(name).push_back('\0');
    all.append(body).push_back('\0');
  }
  return HexOf(Sha256(all));
}

std::string StatusName(pb::RemoteConfigStatuses status) {
  switch (status) {
    case pb::RemoteConfigStatuses_APPLIED:
      return "applied";
    case pb::RemoteConfigStatuses_APPLYING:
      return "applying";
    case pb::RemoteConfigStatuses_FAILED:
      return "failed";
    default:
      return "unset";
  }
}

std::optional<std::string> DescribedAgentId(const pb::AgentToServer& msg) {
  if (!msg.has_agent_description()) return std::nullopt;
  for (const pb::KeyValue& kv : msg.agent_description().identifying_attributes()) {
    if (kv.key() == "service.instance.id" && kv.value().has_string_value()) {
      return kv.value().string_value();
    }
  }
  return std::nullopt;
}

HttpReply Proto(int status, const pb::ServerToAgent& msg) {
  return {.status = status, .content_type = kOpampContentType, .body = msg.SerializeAsString()};
}

HttpReply Error(int status, pb::ServerErrorResponseType type, std::string reason) {
  pb::ServerToAgent msg;
  msg.mutable_error_response()->set_type(type);
  msg.mutable_error_response()->set_error_message(std::move(reason));
  return Proto(status, msg);
}

// The file's bytes if it exists and is at most max bytes.
std::optional<std::string> ReadBundle(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes(max + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (bytes.size() > max) {
    spdlog::warn("opamp: bundle {} exceeds {} bytes; not offered", path, max);
    return std::nullopt;
  }
  return bytes;
}

// Decodes the request into *msg, or returns its rejection (415, 413, 400).
std::optional<HttpReply> Decode(std::string_view content_type, std::string_view body,
                                size_t max_body_bytes, pb::AgentToServer* msg) {
  if (!MediaTypeIs(content_type, kOpampContentType)) {
    return Error(415, pb::ServerErrorResponseType_BadRequest,
                 std::string("Content-Type must be ") + kOpampContentType);
  }
  if (body.size() > max_body_bytes) {
    return Error(413, pb::ServerErrorResponseType_BadRequest,
                 "body exceeds " + std::to_string(max_body_bytes) + " bytes");
  }
  if (!msg->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error(400, pb::ServerErrorResponseType_BadRequest, "AgentToServer does not parse");
  }
  if (msg->instance_uid().size() != remote::opamp::kInstanceUidBytes) {
    return Error(400, pb::ServerErrorResponseType_BadRequest, "instance_uid must be 16 bytes");
  }
  return std::nullopt;
}

// The agent id: the description's service.instance.id, else the id this instance had, else
// (with --client-ca) the certificate's first name; "" when unknown. Sets *refused for an
// id that cannot name a file, or that the client certificate does not name.
std::string ResolveAgentId(const pb::AgentToServer& msg, const std::optional<AgentRecord>& stored,
                           const std::vector<std::string>* identities,
                           std::optional<HttpReply>* refused) {
  std::string id = DescribedAgentId(msg).value_or(stored ? stored->agent_id : "");
  if (id.empty() && identities != nullptr && !identities->empty()) id = identities->front();
  if (id.empty()) return id;
  if (!IsSafeAgentId(id)) {
    *refused = Error(400, pb::ServerErrorResponseType_BadRequest,
                     "agent id must be 1 to 128 of [A-Za-z0-9._-], not starting with '.'");
  } else if (identities != nullptr &&
             std::find(identities->begin(), identities->end(), id) == identities->end()) {
    *refused = Error(403, pb::ServerErrorResponseType_BadRequest,
                     "the client certificate does not name this agent");
  }
  return id;
}

// Takes over what this message reports; what it omits (unchanged) stays as reported before.
void MergeReport(const pb::AgentToServer& msg, AgentRecord* record) {
  record->sequence_num = msg.sequence_num();
  if (msg.has_remote_config_status()) {
    const pb::RemoteConfigStatus& s = msg.remote_config_status();
    record->config_status = StatusName(s.status());
    record->config_hash = HexOf(s.last_remote_config_hash().substr(0, 64));
    record->config_error = Printable(s.error_message(), kMaxErrorChars);
  }
  if (msg.has_health()) {
    record->healthy = msg.health().healthy();
    record->health_status = Printable(msg.health().status(), kMaxHealthStatusChars);
  }
  if (msg.has_effective_config()) {
    record->effective_config_hash = EffectiveConfigHash(msg.effective_config());
  }
  if (record->config_status.empty()) record->config_status = "unset";
}

}  // namespace

bool IsSafeAgentId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id[0] == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

OpampEndpoint::OpampEndpoint(LandingStore& store, Clock& clock, OpampEndpointOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

HttpReply OpampEndpoint::Handle(std::string_view content_type, std::string_view body,
                                const std::vector<std::string>* client_identities) {
  pb::AgentToServer msg;
  if (std::optional<HttpReply> bad = Decode(content_type, body, options_.max_body_bytes, &msg)) {
    return *bad;
  }
  const std::string uid = HexOf(msg.instance_uid());
  Result<std::optional<AgentRecord>> stored = store_.FindAgent(uid);
  if (!stored.ok()) {
    spdlog::warn("opamp: reading agent {} failed: {}", uid, stored.status().message());
    return Error(500, pb::ServerErrorResponseType_Unavailable, "storage error, retry");
  }

  pb::ServerToAgent reply;
  reply.set_instance_uid(msg.instance_uid());
  reply.set_capabilities(kServerCapabilities);

  std::optional<HttpReply> refused;
  std::string agent_id = ResolveAgentId(msg, *stored, client_identities, &refused);
  if (refused) return *refused;
  if (agent_id.empty()) {
    reply.set_flags(pb::ServerToAgentFlags_ReportFullState);  // we know nothing about it
    return Proto(200, reply);
  }

  AgentRecord record = stored->value_or(AgentRecord{});
  const bool gap = !stored->has_value() || msg.sequence_num() != record.sequence_num + 1;
  if (gap && !msg.has_agent_description()) reply.set_flags(pb::ServerToAgentFlags_ReportFullState);
  record.instance_uid = uid;
  record.agent_id = agent_id;
  record.last_seen = clock_.NowUnixMs();
  MergeReport(msg, &record);
  Status saved = store_.UpsertAgent(record);
  if (!saved.ok()) {
    spdlog::warn("opamp: recording agent {} failed: {}", uid, saved.message());
    return Error(500, pb::ServerErrorResponseType_Unavailable, "storage error, retry");
  }

  OfferBundle(record, &reply);
  return Proto(200, reply);
}

void OpampEndpoint::OfferBundle(const AgentRecord& record, ::opamp::proto::ServerToAgent* reply) {
  if (options_.config_dir.empty()) return;
  std::optional<std::string> bundle =
      ReadBundle(options_.config_dir + "/" + record.agent_id + ".json", options_.max_bundle_bytes);
  if (!bundle) bundle = ReadBundle(options_.config_dir + "/all.json", options_.max_bundle_bytes);
  if (!bundle) return;
  const std::string hash = Sha256(*bundle);
  const bool settled = record.config_status == "applied" || record.config_status == "failed";
  if (settled && record.config_hash == HexOf(hash)) return;
  pb::AgentRemoteConfig* rc = reply->mutable_remote_config();
  pb::AgentConfigFile& file = (*rc->mutable_config()->mutable_config_map())["tidegate"];
  file.set_body(std::move(*bundle));
  file.set_content_type(remote::opamp::kBundleContentType);
  rc->set_config_hash(hash);
}

}  // namespace tidegate::collector
