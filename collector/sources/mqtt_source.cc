// SPDX-License-Identifier: Apache-2.0
#include "collector/sources/mqtt_source.h"

#include <fmt/format.h>
#include <mqtt_protocol.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <vector>

#include "collector/sources/batch_endpoint.h"

namespace tidegate::collector {
namespace {

constexpr int kKeepAliveS = 30;
constexpr unsigned kReconnectMinS = 1;
constexpr unsigned kReconnectMaxS = 60;
// Room for the topic and properties around a batch body of max_body_bytes.
constexpr size_t kPacketOverheadBytes = size_t{64} * 1024;
constexpr char kAckContentType[] = "application/json";

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }  // NOLINT: libmosquitto mallocs these
};
using MallocString = std::unique_ptr<char, FreeDeleter>;

struct PropertiesDeleter {
  void operator()(mosquitto_property* p) const { mosquitto_property_free_all(&p); }
};
using PropertyList = std::unique_ptr<mosquitto_property, PropertiesDeleter>;

// The properties of a batch message the collector acts on; each is bounded by MQTT itself
// (a string or binary property holds at most 65535 bytes).
struct BatchProperties {
  std::optional<std::string> batch_id;
  std::optional<std::string> content_encoding;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::string correlation_data;
};

std::optional<std::string> ReadString(const mosquitto_property* props, int id) {
  char* raw = nullptr;
  if (mosquitto_property_read_string(props, id, &raw, false) == nullptr) return std::nullopt;
  MallocString value(raw);
  return std::string(value.get());
}

BatchProperties ReadBatchProperties(const mosquitto_property* props) {
  BatchProperties out;
  out.content_type = ReadString(props, MQTT_PROP_CONTENT_TYPE);
  out.response_topic = ReadString(props, MQTT_PROP_RESPONSE_TOPIC);
  void* data = nullptr;
  uint16_t len = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false)) {
    std::unique_ptr<void, FreeDeleter> owned(data);
    out.correlation_data.assign(static_cast<const char*>(data), len);
  }
  bool skip_first = false;
  for (const mosquitto_property* p = props;; skip_first = true) {
    char* name = nullptr;
    char* value = nullptr;
    p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, skip_first);
    if (p == nullptr) break;
    MallocString owned_name(name);
    MallocString owned_value(value);
    const std::string_view key(name);
    if (key == "batch_id" && !out.batch_id) out.batch_id = value;
    if (key == "content_encoding" && !out.content_encoding) out.content_encoding = value;
  }
  return out;
}

AckStatus ToAckStatus(IntakeVerdict verdict) {
  switch (verdict) {
    case IntakeVerdict::kLanded:
      return AckStatus::kLanded;
    case IntakeVerdict::kDuplicate:
      return AckStatus::kDuplicate;
    case IntakeVerdict::kRejected:
      return AckStatus::kRejected;
    case IntakeVerdict::kRetry:
      return AckStatus::kRetry;
  }
  return AckStatus::kRetry;
}

// A rejection the source decides from the message's properties, before the intake.
std::optional<std::string> PropertyRejection(const BatchProperties& props) {
  if (!props.batch_id || props.batch_id->empty()) return "no batch_id user property";
  if (props.content_type && !MediaTypeIs(*props.content_type, kBatchContentType)) {
    return fmt::format("content type must be {}", kBatchContentType);
  }
  if (props.content_encoding && *props.content_encoding != "zstd") {
    return "content_encoding must be zstd";
  }
  return std::nullopt;
}

Status CheckReadable(const std::string& flag, const std::string& path) {
  if (path.empty()) return InvalidArgument(flag + " is required with --mqtt");
  if (::access(path.c_str(), R_OK) != 0) {
    return InvalidArgument(fmt::format("{} {}: not a readable file", flag, path));
  }
  return Status::Ok();
}

Status CheckMosq(int rc, std::string_view what) {
  if (rc == MOSQ_ERR_SUCCESS) return Status::Ok();
  return InvalidArgument(fmt::format("{}: {}", what, mosquitto_strerror(rc)));
}

}  // namespace

std::string DefaultMqttClientId(const std::string& group) {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return fmt::format("tidegate-collector-{}-{}", group, host.data());
}

void MqttSource::Deleter::operator()(mosquitto* m) const { mosquitto_destroy(m); }

MqttSource::MqttSource(const MqttSourceOptions& options, BatchIntake& intake)
    : options_(options),
      subscription_(fmt::format("$share/{}/tidegate/+/batches", options.group)),
      intake_(intake) {}

MqttSource::~MqttSource() { Stop(); }

Result<std::unique_ptr<MqttSource>> MqttSource::Start(const MqttSourceOptions& options,
                                                      BatchIntake& intake) {
  TG_RETURN_IF_ERROR(ValidateGroupName(options.group));
  TG_RETURN_IF_ERROR(CheckReadable("--mqtt-ca", options.ca_file));
  TG_RETURN_IF_ERROR(CheckReadable("--mqtt-cert", options.cert_file));
  TG_RETURN_IF_ERROR(CheckReadable("--mqtt-key", options.key_file));
  static std::once_flag lib_init;
  std::call_once(lib_init, [] { mosquitto_lib_init(); });
  MqttSourceOptions o = options;
  if (o.client_id.empty()) o.client_id = DefaultMqttClientId(o.group);
  std::unique_ptr<MqttSource> source(new MqttSource(o, intake));
  source->mosq_.reset(mosquitto_new(o.client_id.c_str(), /*clean_session=*/false, source.get()));
  mosquitto* m = source->mosq_.get();
  if (m == nullptr) return Internal("mosquitto_new failed");
  TG_RETURN_IF_ERROR(
      CheckMosq(mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "MQTT v5"));
  TG_RETURN_IF_ERROR(CheckMosq(mosquitto_tls_set(m, o.ca_file.c_str(), nullptr, o.cert_file.c_str(),
                                                 o.key_file.c_str(), nullptr),
                               "--mqtt-ca/--mqtt-cert/--mqtt-key"));
  TG_RETURN_IF_ERROR(CheckMosq(
      mosquitto_reconnect_delay_set(m, kReconnectMinS, kReconnectMaxS, true), "reconnect delay"));
  mosquitto_connect_v5_callback_set(m, &MqttSource::OnConnect);
  mosquitto_disconnect_v5_callback_set(m, &MqttSource::OnDisconnect);
  mosquitto_message_v5_callback_set(m, &MqttSource::OnMessage);

  mosquitto_property* raw = nullptr;
  int rc = mosquitto_property_add_int32(&raw, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                        static_cast<uint32_t>(o.session_expiry.count()));
  PropertyList props(raw);
  TG_RETURN_IF_ERROR(CheckMosq(rc, "session expiry"));
  rc = mosquitto_property_add_int32(
      &raw, MQTT_PROP_MAXIMUM_PACKET_SIZE,
      static_cast<uint32_t>(intake.limits().max_body_bytes + kPacketOverheadBytes));
  props.release();  // NOLINT(bugprone-unused-return-value): `raw` is the same list
  props.reset(raw);
  TG_RETURN_IF_ERROR(CheckMosq(rc, "maximum packet size"));
  // libmosquitto keeps the host and the CONNECT properties even when this first attempt
  // fails: a broker that is down now is retried by the network thread with backoff.
  rc = mosquitto_connect_bind_v5(m, o.broker.host.c_str(), o.broker.port, kKeepAliveS, nullptr,
                                 props.get());
  if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM) TG_RETURN_IF_ERROR(CheckMosq(rc, "--mqtt"));
  if (rc != MOSQ_ERR_SUCCESS) {
    spdlog::warn("mqtt: first connection to {}:{} failed ({}), retrying", o.broker.host,
                 o.broker.port, mosquitto_strerror(rc));
  }
  TG_RETURN_IF_ERROR(CheckMosq(mosquitto_loop_start(m), "mosquitto_loop_start"));
  spdlog::info("mqtt: connecting to {}:{} as client_id={} subscription={}", o.broker.host,
               o.broker.port, o.client_id, source->subscription_);
  return source;
}

void MqttSource::Stop() {
  if (!mosq_ || stopped_.exchange(true)) return;
  mosquitto_disconnect_v5(mosq_.get(), MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  mosquitto_loop_stop(mosq_.get(), false);
}

MqttSourceCounts MqttSource::counts() const {
  return {.messages = messages_.load(),
          .acks_published = acks_published_.load(),
          .acks_skipped = acks_skipped_.load(),
          .connects = connects_.load()};
}

std::string MqttSource::StatsJsonFields() const {
  MqttSourceCounts c = counts();
  return fmt::format(R"("mqtt_messages":{},"mqtt_acks_published":{},"mqtt_acks_skipped":{},)"
                     R"("mqtt_connects":{})",
                     c.messages, c.acks_published, c.acks_skipped, c.connects);
}

void MqttSource::OnConnect(mosquitto* m, void* self, int rc, int /*flags*/,
                           const mosquitto_property* /*props*/) {
  auto* s = static_cast<MqttSource*>(self);
  if (rc != 0) {
    spdlog::warn("mqtt: broker refused the connection: {}", mosquitto_reason_string(rc));
    return;  // libmosquitto retries with backoff
  }
  s->connects_.fetch_add(1);
  // Also after a reconnect with a kept session: subscribing again is harmless.
  int sub = mosquitto_subscribe_v5(m, nullptr, s->subscription_.c_str(), 1, 0, nullptr);
  if (sub != MOSQ_ERR_SUCCESS) {
    spdlog::error("mqtt: subscribe {} failed: {}", s->subscription_, mosquitto_strerror(sub));
    return;
  }
  spdlog::info("mqtt: connected, subscribed to {}", s->subscription_);
}

void MqttSource::OnDisconnect(mosquitto* /*m*/, void* self, int rc,
                              const mosquitto_property* /*props*/) {
  auto* s = static_cast<MqttSource*>(self);
  if (s->stopped_.load()) return;
  spdlog::warn("mqtt: disconnected ({}), reconnecting with backoff", mosquitto_strerror(rc));
}

void MqttSource::OnMessage(mosquitto* /*m*/, void* self, const mosquitto_message* msg,
                           const mosquitto_property* props) {
  static_cast<MqttSource*>(self)->HandleBatch(*msg, props);
}

void MqttSource::HandleBatch(const mosquitto_message& msg, const mosquitto_property* props) {
  messages_.fetch_add(1);
  const std::optional<std::string> agent_id = AgentIdFromBatchTopic(msg.topic);
  if (!agent_id) {
    intake_.CountRejection("batch on an unexpected topic");
    acks_skipped_.fetch_add(1);
    spdlog::warn("mqtt: rejected a message on an unexpected topic (no ack)");
    return;
  }
  const BatchProperties p = ReadBatchProperties(props);
  IntakeOutcome outcome;
  if (std::optional<std::string> reason = PropertyRejection(p)) {
    intake_.CountRejection(*reason);
    outcome.verdict = IntakeVerdict::kRejected;
    outcome.reason = *reason;
    spdlog::warn("mqtt: rejected batch_id={} agent_id={}: {}",
                 QuotedForLog(p.batch_id.value_or("")), QuotedForLog(*agent_id), *reason);
  } else {
    const std::vector<std::string> identities = {*agent_id};
    const std::string_view body(static_cast<const char*>(msg.payload),
                                static_cast<size_t>(msg.payloadlen));
    outcome = intake_.Accept(*p.batch_id, body, &identities);
  }
  const std::string ack_topic = AckTopicFor(*agent_id);
  if (!p.response_topic || *p.response_topic != ack_topic) {
    acks_skipped_.fetch_add(1);
    spdlog::warn("mqtt: no ack for batch_id={} agent_id={}: response topic is not {}",
                 QuotedForLog(p.batch_id.value_or("")), QuotedForLog(*agent_id), ack_topic);
    return;
  }
  const std::string& id = outcome.batch_id.empty() ? p.batch_id.value_or("") : outcome.batch_id;
  PublishAck(ack_topic, p.correlation_data,
             AckJson(id, ToAckStatus(outcome.verdict), outcome.reason));
}

void MqttSource::PublishAck(const std::string& topic, const std::string& correlation,
                            const std::string& body) {
  mosquitto_property* raw = nullptr;
  int rc = mosquitto_property_add_string(&raw, MQTT_PROP_CONTENT_TYPE, kAckContentType);
  PropertyList props(raw);
  if (rc == MOSQ_ERR_SUCCESS && !correlation.empty()) {
    rc = mosquitto_property_add_binary(&raw, MQTT_PROP_CORRELATION_DATA, correlation.data(),
                                       static_cast<uint16_t>(correlation.size()));
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_publish_v5(mosq_.get(), nullptr, topic.c_str(), static_cast<int>(body.size()),
                              body.data(), 1, false, props.get());
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    // The agent republishes after its ack timeout; the batch is then a duplicate.
    spdlog::warn("mqtt: publishing an ack to {} failed: {}", topic, mosquitto_strerror(rc));
    return;
  }
  acks_published_.fetch_add(1);
}

}  // namespace tidegate::collector
