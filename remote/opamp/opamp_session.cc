// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/opamp_session.h"

#include <utility>

#include "remote/opamp/opamp.pb.h"

namespace tidegate::remote::opamp {
namespace {

namespace pb = ::opamp::proto;

constexpr size_t kMaxServerErrorChars = 200;
constexpr size_t kMaxReasonChars = 500;

void AddString(google::protobuf::RepeatedPtrField<pb::KeyValue>* list, std::string key,
               std::string value) {
  pb::KeyValue* kv = list->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

// Keeps printable ASCII only and bounds the length: server text goes to logs.
std::string Printable(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  return out;
}

RemoteConfigReport Failed(std::string hash, std::string error) {
  return {.hash = std::move(hash),
          .state = RemoteConfigReport::State::kFailed,
          .error = std::move(error)};
}

}  // namespace

OpampSession::OpampSession(SessionOptions options, BundleHandler handler,
                           EffectiveConfigSource config, HealthSource health)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      config_(std::move(config)),
      health_(std::move(health)) {}

std::string OpampSession::BuildRequest() {
  pb::AgentToServer msg;
  msg.set_instance_uid(options_.instance_uid);
  msg.set_sequence_num(++sequence_num_);
  msg.set_capabilities(kTidegateCapabilities);
  const bool full = std::exchange(full_state_next_, false);

  if (full) {
    pb::AgentDescription* d = msg.mutable_agent_description();
    AddString(d->mutable_identifying_attributes(), "service.name", "tidegate");
    AddString(d->mutable_identifying_attributes(), "service.version", options_.agent_version);
    if (!options_.agent_id.empty()) {
      AddString(d->mutable_identifying_attributes(), "service.instance.id", options_.agent_id);
    }
    // Deliberately no host name, user or address: the agent_id names the gateway.
    AddString(d->mutable_non_identifying_attributes(), "os.type", "linux");
  }

  HealthReport health = health_ ? health_() : HealthReport{.healthy = true, .status = "running"};
  if (full || sent_health_ != health) {
    pb::ComponentHealth* h = msg.mutable_health();
    h->set_healthy(health.healthy);
    h->set_status(health.status);
    h->set_last_error(health.last_error);
    h->set_start_time_unix_nano(static_cast<uint64_t>(options_.start_time_unix_ms) * 1'000'000);
    sent_health_ = std::move(health);
  }

  std::string config = config_ ? config_() : std::string();
  if (full || sent_config_ != config) {
    pb::AgentConfigFile& file =
        (*msg.mutable_effective_config()->mutable_config_map()->mutable_config_map())[""];
    file.set_body(config);
    file.set_content_type("text/yaml");
    sent_config_ = std::move(config);
  }

  if (full || sent_remote_status_ != remote_status_) {
    pb::RemoteConfigStatus* s = msg.mutable_remote_config_status();
    s->set_last_remote_config_hash(remote_status_.hash);
    s->set_status(static_cast<pb::RemoteConfigStatuses>(remote_status_.state));
    s->set_error_message(remote_status_.error);
    sent_remote_status_ = remote_status_;
  }
  return msg.SerializeAsString();
}

Result<ResponseOutcome> OpampSession::HandleResponse(std::string_view bytes) {
  if (bytes.size() > options_.max_response_bytes) {
    return Corruption("ServerToAgent of " + std::to_string(bytes.size()) + " bytes exceeds " +
                      std::to_string(options_.max_response_bytes));
  }
  pb::ServerToAgent msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Corruption("ServerToAgent does not parse");
  }
  ResponseOutcome outcome;
  if (msg.has_error_response()) {
    outcome.server_error = Printable(msg.error_response().error_message(), kMaxServerErrorChars);
    return outcome;  // the spec: no other field is set with an error
  }
  if ((msg.flags() & kReportFullStateFlag) != 0) {
    full_state_next_ = true;
    outcome.full_state_requested = true;
  }
  if (!msg.has_remote_config()) return outcome;
  const pb::AgentRemoteConfig& rc = msg.remote_config();
  if (rc.config_hash().empty() || rc.config_hash() == remote_status_.hash) return outcome;

  const pb::AgentConfigFile* bundle = nullptr;
  for (const auto& [name, file] : rc.config().config_map()) {
    if (file.content_type() != kBundleContentType) continue;
    if (bundle != nullptr) {
      remote_status_ = Failed(rc.config_hash(), "the remote config holds more than one bundle");
      return outcome;
    }
    bundle = &file;
  }
  if (bundle == nullptr) {
    remote_status_ = Failed(rc.config_hash(), std::string("the remote config holds no file of "
                                                          "content type ") +
                                                  kBundleContentType);
    return outcome;
  }
  if (bundle->body().size() > options_.max_bundle_bytes) {
    remote_status_ =
        Failed(rc.config_hash(), "the bundle of " + std::to_string(bundle->body().size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(options_.max_bundle_bytes));
    return outcome;
  }
  ApplyOutcome applied = handler_(bundle->body());
  outcome.bundle_handled = true;
  RemoteConfigReport report{.hash = rc.config_hash(), .state = {}, .error = {}};
  if (applied.state == ApplyOutcome::State::kApplied) {
    report.state = RemoteConfigReport::State::kApplied;
  } else {
    report.state = RemoteConfigReport::State::kFailed;
    report.error = Printable(applied.reason, kMaxReasonChars);
    if (applied.state == ApplyOutcome::State::kRolledBack) report.error.insert(0, "rolled back: ");
  }
  remote_status_ = std::move(report);
  return outcome;
}

void OpampSession::ReportLaterOutcome(const ApplyOutcome& outcome) {
  if (remote_status_.hash.empty()) return;  // no bundle handed over: nothing it belongs to
  remote_status_ =
      Failed(remote_status_.hash, Printable("rolled back: " + outcome.reason, kMaxReasonChars));
}

}  // namespace tidegate::remote::opamp
