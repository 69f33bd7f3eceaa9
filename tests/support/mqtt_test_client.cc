// SPDX-License-Identifier: Apache-2.0
#include "tests/support/mqtt_test_client.h"

#include <mqtt_protocol.h>

#include <mutex>

namespace tidegate::testing {
namespace {

constexpr int kKeepAliveS = 30;

struct PropertiesDeleter {
  void operator()(mosquitto_property* p) const { mosquitto_property_free_all(&p); }
};
using PropertyList = std::unique_ptr<mosquitto_property, PropertiesDeleter>;

Status Check(int rc, const char* what) {
  if (rc == MOSQ_ERR_SUCCESS) return Status::Ok();
  return Unavailable(std::string(what) + ": " + mosquitto_strerror(rc));
}

// Each add only changes `list` when it succeeds, so the list is freed whole on any error.
Result<PropertyList> BuildProperties(const MqttProperties& in) {
  mosquitto_property* list = nullptr;
  int rc = MOSQ_ERR_SUCCESS;
  if (rc == MOSQ_ERR_SUCCESS && !in.content_type.empty()) {
    rc = mosquitto_property_add_string(&list, MQTT_PROP_CONTENT_TYPE, in.content_type.c_str());
  }
  if (rc == MOSQ_ERR_SUCCESS && !in.response_topic.empty()) {
    rc = mosquitto_property_add_string(&list, MQTT_PROP_RESPONSE_TOPIC, in.response_topic.c_str());
  }
  if (rc == MOSQ_ERR_SUCCESS && !in.correlation_data.empty()) {
    rc =
        mosquitto_property_add_binary(&list, MQTT_PROP_CORRELATION_DATA, in.correlation_data.data(),
                                      static_cast<std::uint16_t>(in.correlation_data.size()));
  }
  for (const auto& [name, value] : in.user) {
    if (rc != MOSQ_ERR_SUCCESS) break;
    rc = mosquitto_property_add_string_pair(&list, MQTT_PROP_USER_PROPERTY, name.c_str(),
                                            value.c_str());
  }
  PropertyList owner(list);
  TG_RETURN_IF_ERROR(Check(rc, "mosquitto_property_add"));
  return owner;
}

MqttProperties ReadProperties(const mosquitto_property* props) {
  MqttProperties out;
  for (const mosquitto_property* p = props; p != nullptr; p = mosquitto_property_next(p)) {
    char* name = nullptr;
    char* value = nullptr;
    void* binary = nullptr;
    std::uint16_t len = 0;
    switch (mosquitto_property_identifier(p)) {
      case MQTT_PROP_CONTENT_TYPE:
        mosquitto_property_read_string(p, MQTT_PROP_CONTENT_TYPE, &value, false);
        if (value != nullptr) out.content_type = value;
        break;
      case MQTT_PROP_RESPONSE_TOPIC:
        mosquitto_property_read_string(p, MQTT_PROP_RESPONSE_TOPIC, &value, false);
        if (value != nullptr) out.response_topic = value;
        break;
      case MQTT_PROP_CORRELATION_DATA:
        mosquitto_property_read_binary(p, MQTT_PROP_CORRELATION_DATA, &binary, &len, false);
        if (binary != nullptr) out.correlation_data.assign(static_cast<const char*>(binary), len);
        break;
      case MQTT_PROP_USER_PROPERTY:
        mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, false);
        if (name != nullptr && value != nullptr) out.user.emplace_back(name, value);
        break;
      default:
        break;
    }
    free(name);    // NOLINT(cppcoreguidelines-no-malloc): libmosquitto allocates with malloc
    free(value);   // NOLINT(cppcoreguidelines-no-malloc)
    free(binary);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  return out;
}

}  // namespace

std::optional<std::string> MqttProperties::User(const std::string& name) const {
  for (const auto& [key, value] : user) {
    if (key == name) return value;
  }
  return std::nullopt;
}

void MqttTestClient::Deleter::operator()(mosquitto* m) const {
  mosquitto_disconnect_v5(m, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
}

MqttTestClient::~MqttTestClient() = default;

Result<std::unique_ptr<MqttTestClient>> MqttTestClient::Connect(const MqttClientOptions& o,
                                                                std::chrono::milliseconds timeout) {
  static std::once_flag lib_init;
  std::call_once(lib_init, [] { mosquitto_lib_init(); });
  std::unique_ptr<MqttTestClient> c(new MqttTestClient());
  mosquitto* m = mosquitto_new(o.client_id.c_str(), o.clean_start, c.get());
  if (m == nullptr) return Internal("mosquitto_new failed");
  TG_RETURN_IF_ERROR(Check(mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5),
                           "protocol version"));
  mosquitto_connect_v5_callback_set(m, &MqttTestClient::OnConnect);
  mosquitto_disconnect_v5_callback_set(m, &MqttTestClient::OnDisconnect);
  mosquitto_publish_v5_callback_set(m, &MqttTestClient::OnPublish);
  mosquitto_subscribe_v5_callback_set(m, &MqttTestClient::OnSubscribe);
  mosquitto_message_v5_callback_set(m, &MqttTestClient::OnMessage);
  if (!o.ca_file.empty()) {
    TG_RETURN_IF_ERROR(
        Check(mosquitto_tls_set(m, o.ca_file.c_str(), nullptr,
                                o.cert_file.empty() ? nullptr : o.cert_file.c_str(),
                                o.key_file.empty() ? nullptr : o.key_file.c_str(), nullptr),
              "mosquitto_tls_set"));
  }
  PropertyList connect_props;
  if (o.session_expiry_s > 0) {
    mosquitto_property* list = nullptr;
    TG_RETURN_IF_ERROR(Check(
        mosquitto_property_add_int32(&list, MQTT_PROP_SESSION_EXPIRY_INTERVAL, o.session_expiry_s),
        "session expiry"));
    connect_props.reset(list);
  }
  int rc = mosquitto_connect_bind_v5(m, o.host.c_str(), o.port, kKeepAliveS, nullptr,
                                     connect_props.get());
  // From here the deleter disconnects and stops the loop; both are harmless if never started.
  c->mosq_.reset(m);
  TG_RETURN_IF_ERROR(Check(rc, "mosquitto_connect"));
  TG_RETURN_IF_ERROR(Check(mosquitto_loop_start(m), "mosquitto_loop_start"));
  std::unique_lock lock(c->mu_);
  if (!c->cv_.wait_for(lock, timeout, [&] { return c->connack_ || c->disconnected_; })) {
    return Unavailable("no CONNACK within the timeout");
  }
  if (c->connack_ && *c->connack_ == 0 && !c->disconnected_) return c;
  return Unavailable("refused: CONNACK " +
                     (c->connack_ ? std::string(mosquitto_reason_string(*c->connack_)) : "none") +
                     ", disconnect rc " + std::to_string(c->disconnect_rc_));
}

Result<int> MqttTestClient::WaitForReply(int mid, std::chrono::milliseconds timeout,
                                         const char* what) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return replies_.count(mid) > 0 || disconnected_; })) {
    return Unavailable(std::string("no ") + what + " within the timeout");
  }
  auto it = replies_.find(mid);
  if (it == replies_.end()) return Unavailable(std::string("disconnected before the ") + what);
  return it->second;
}

Result<int> MqttTestClient::Subscribe(const std::string& filter, int qos,
                                      std::chrono::milliseconds timeout) {
  int mid = 0;
  TG_RETURN_IF_ERROR(
      Check(mosquitto_subscribe_v5(mosq_.get(), &mid, filter.c_str(), qos, 0, nullptr),
            "mosquitto_subscribe"));
  return WaitForReply(mid, timeout, "SUBACK");
}

Result<int> MqttTestClient::Publish(const std::string& topic, const std::string& payload, int qos,
                                    const MqttProperties& properties,
                                    std::chrono::milliseconds timeout) {
  return PublishWithRetain(topic, payload, qos, properties, timeout, /*retain=*/false);
}

Result<int> MqttTestClient::PublishRetained(const std::string& topic, const std::string& payload,
                                            std::chrono::milliseconds timeout) {
  return PublishWithRetain(topic, payload, 1, {}, timeout, /*retain=*/true);
}

Result<int> MqttTestClient::PublishWithRetain(const std::string& topic, const std::string& payload,
                                              int qos, const MqttProperties& properties,
                                              std::chrono::milliseconds timeout, bool retain) {
  TG_ASSIGN_OR_RETURN(PropertyList props, BuildProperties(properties));
  int mid = 0;
  TG_RETURN_IF_ERROR(
      Check(mosquitto_publish_v5(mosq_.get(), &mid, topic.c_str(), static_cast<int>(payload.size()),
                                 payload.data(), qos, retain, props.get()),
            "mosquitto_publish"));
  return WaitForReply(mid, timeout, "PUBACK");
}

bool MqttTestClient::WaitForMessages(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

std::vector<MqttMessage> MqttTestClient::Messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

bool MqttTestClient::connected() const {
  std::lock_guard lock(mu_);
  return connack_ && *connack_ == 0 && !disconnected_;
}

void MqttTestClient::OnConnect(mosquitto* /*m*/, void* self, int rc, int /*flags*/,
                               const mosquitto_property* /*p*/) {
  auto* c = static_cast<MqttTestClient*>(self);
  std::lock_guard lock(c->mu_);
  c->connack_ = rc;
  c->cv_.notify_all();
}

void MqttTestClient::OnDisconnect(mosquitto* m, void* self, int rc,
                                  const mosquitto_property* /*p*/) {
  auto* c = static_cast<MqttTestClient*>(self);
  {
    std::lock_guard lock(c->mu_);
    c->disconnected_ = true;
    c->disconnect_rc_ = rc;
    c->cv_.notify_all();
  }
  // A test client does not reconnect: a refused or dropped client stays down.
  mosquitto_disconnect(m);
}

void MqttTestClient::OnPublish(mosquitto* /*m*/, void* self, int mid, int rc,
                               const mosquitto_property* /*p*/) {
  auto* c = static_cast<MqttTestClient*>(self);
  std::lock_guard lock(c->mu_);
  c->replies_[mid] = rc;
  c->cv_.notify_all();
}

void MqttTestClient::OnSubscribe(mosquitto* /*m*/, void* self, int mid, int count,
                                 const int* granted, const mosquitto_property* /*p*/) {
  auto* c = static_cast<MqttTestClient*>(self);
  std::lock_guard lock(c->mu_);
  c->replies_[mid] = count > 0 ? granted[0] : -1;
  c->cv_.notify_all();
}

void MqttTestClient::OnMessage(mosquitto* /*m*/, void* self, const mosquitto_message* msg,
                               const mosquitto_property* p) {
  auto* c = static_cast<MqttTestClient*>(self);
  MqttMessage out{.topic = msg->topic,
                  .payload = std::string(static_cast<const char*>(msg->payload),
                                         static_cast<std::size_t>(msg->payloadlen)),
                  .qos = msg->qos,
                  .properties = ReadProperties(p),
                  .retained = msg->retain};
  std::lock_guard lock(c->mu_);
  c->messages_.push_back(std::move(out));
  c->cv_.notify_all();
}

}  // namespace tidegate::testing
