// SPDX-License-Identifier: Apache-2.0
#include "agent/mqtt_source.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace tidegate::agent {
namespace {

constexpr unsigned kReconnectMinS = 1;
constexpr unsigned kReconnectMaxS = 30;

Status MosqError(int rc, std::string_view what) {
  return Unavailable(std::string(what) + ": " + mosquitto_strerror(rc));
}

}  // namespace

MqttSource::MqttSource(const MqttSourceSection& config, MessageHandler handler)
    : config_(config), handler_(std::move(handler)) {}

MqttSource::~MqttSource() {
  Stop();
  if (mosq_) mosquitto_destroy(mosq_);
}

Status MqttSource::Start() {
  static std::once_flag lib_init;
  std::call_once(lib_init, [] { mosquitto_lib_init(); });
  mosq_ = mosquitto_new(config_.client_id.c_str(), /*clean_session=*/false, this);
  if (!mosq_) return Internal("mosquitto_new failed");
  mosquitto_connect_with_flags_callback_set(mosq_, &MqttSource::OnConnect);
  mosquitto_disconnect_callback_set(mosq_, &MqttSource::OnDisconnect);
  mosquitto_message_callback_set(mosq_, &MqttSource::OnMessage);
  mosquitto_reconnect_delay_set(mosq_, kReconnectMinS, kReconnectMaxS, true);
  if (!config_.username.empty()) {
    int rc =
        mosquitto_username_pw_set(mosq_, config_.username.c_str(),
                                  config_.password.empty() ? nullptr : config_.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) return MosqError(rc, "set MQTT credentials");
  }
  if (config_.tls) {
    const TlsSection& tls = *config_.tls;
    int rc = mosquitto_tls_set(mosq_, tls.ca_file.empty() ? nullptr : tls.ca_file.c_str(), nullptr,
                               tls.cert_file.empty() ? nullptr : tls.cert_file.c_str(),
                               tls.key_file.empty() ? nullptr : tls.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return MosqError(rc, "configure MQTT TLS");
  }
  auto keepalive = static_cast<int>(config_.keepalive.count() / 1000);
  // connect_async: the network thread retries until the broker answers.
  int rc = mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, keepalive);
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO) {
    return MosqError(rc, "connect to MQTT broker " + config_.host);
  }
  if (rc == MOSQ_ERR_ERRNO) {
    spdlog::warn("mqtt: broker {}:{} not reachable yet, retrying", config_.host, config_.port);
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return MosqError(rc, "start the MQTT network thread");
  started_ = true;
  return Status::Ok();
}

void MqttSource::Stop() {
  if (!started_) return;
  started_ = false;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, /*force=*/false);
  connected_ = false;
}

void MqttSource::OnConnect(mosquitto* mosq, void* self_ptr, int rc, int flags) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  if (rc != 0) {
    spdlog::error("mqtt: broker refused the connection: {}", mosquitto_connack_string(rc));
    return;
  }
  self->connected_ = true;
  self->connects_++;
  bool session_present = (flags & 1) != 0;
  spdlog::info("mqtt: connected to {}:{} as {} (session {})", self->config_.host,
               self->config_.port, self->config_.client_id, session_present ? "resumed" : "new");
  for (const TopicSpec& topic : self->config_.topics) {
    int sub_rc = mosquitto_subscribe(mosq, nullptr, topic.filter.c_str(), topic.qos);
    if (sub_rc != MOSQ_ERR_SUCCESS) {
      spdlog::error("mqtt: subscribe {} failed: {}", topic.filter, mosquitto_strerror(sub_rc));
    }
  }
}

void MqttSource::OnDisconnect(mosquitto*, void* self_ptr, int rc) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  self->connected_ = false;
  if (rc != 0) spdlog::warn("mqtt: connection lost ({}), reconnecting", mosquitto_strerror(rc));
}

void MqttSource::OnMessage(mosquitto*, void* self_ptr, const ::mosquitto_message* message) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  std::string_view payload(static_cast<const char*>(message->payload),
                           message->payloadlen > 0 ? static_cast<size_t>(message->payloadlen) : 0);
  self->handler_(message->topic ? std::string_view(message->topic) : std::string_view(), payload);
}

}  // namespace tidegate::agent
