// SPDX-License-Identifier: Apache-2.0
#include "uplink/mqtt_transport.h"

#include <mqtt_protocol.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <system_error>

#include "common/thread_name.h"
#include "uplink/mqtt_ack.h"

namespace tidegate::uplink {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr milliseconds kReconnectMin = seconds(1);
constexpr milliseconds kReconnectMax = seconds(30);
// A connection must last this long to reset the backoff (a broker that drops us at once,
// e.g. on an ACL or a client id taken over, is retried ever more slowly).
constexpr auto kStableConnection = seconds(10);
constexpr uint64_t kLogEveryNthFailure = 10;
constexpr int kLoopTimeoutMs = 100;
// Acks the sending thread has not taken yet. It takes them every turn (at most a second);
// a flood of forged acks beyond this is dropped (the batches then republish after the
// ack timeout: nothing is lost).
constexpr size_t kMaxQueuedCompletions = 4096;
constexpr std::string_view kContentType = "application/vnd.tidegate.batch+flatbuffers";

struct PropertyDeleter {
  void operator()(mosquitto_property* p) const { mosquitto_property_free_all(&p); }
};
using Properties = std::unique_ptr<mosquitto_property, PropertyDeleter>;

// Builds a property list; false if any add failed (out of memory, invalid UTF-8).
class PropertyList {
 public:
  bool AddString(int id, const std::string& value) {
    ok_ = ok_ && mosquitto_property_add_string(&raw_, id, value.c_str()) == MOSQ_ERR_SUCCESS;
    return ok_;
  }
  bool AddPair(const char* name, const std::string& value) {
    ok_ = ok_ && mosquitto_property_add_string_pair(&raw_, MQTT_PROP_USER_PROPERTY, name,
                                                    value.c_str()) == MOSQ_ERR_SUCCESS;
    return ok_;
  }
  bool AddBinary(int id, const std::string& value) {
    ok_ = ok_ && value.size() <= UINT16_MAX &&
          mosquitto_property_add_binary(&raw_, id, value.data(),
                                        static_cast<uint16_t>(value.size())) == MOSQ_ERR_SUCCESS;
    return ok_;
  }
  bool AddInt32(int id, uint32_t value) {
    ok_ = ok_ && mosquitto_property_add_int32(&raw_, id, value) == MOSQ_ERR_SUCCESS;
    return ok_;
  }
  bool ok() const { return ok_; }
  const mosquitto_property* get() const { return raw_; }
  ~PropertyList() { mosquitto_property_free_all(&raw_); }
  PropertyList() = default;
  PropertyList(const PropertyList&) = delete;
  PropertyList& operator=(const PropertyList&) = delete;

 private:
  mosquitto_property* raw_ = nullptr;
  bool ok_ = true;
};

std::string DescribeError(int rc, int err, const std::string& library_error) {
  if (rc == MOSQ_ERR_ERRNO && err != 0)
    return std::error_code(err, std::generic_category()).message();
  if ((rc == MOSQ_ERR_TLS || rc == MOSQ_ERR_TLS_HANDSHAKE) && !library_error.empty()) {
    return "TLS: " + library_error;
  }
  if (!library_error.empty() && rc == MOSQ_ERR_CONN_LOST) {
    return std::string(mosquitto_strerror(rc)) + " (" + library_error + ")";
  }
  return mosquitto_strerror(rc);
}

}  // namespace

// What one connection attempt saw; network thread only.
struct MqttTransport::Attempt {
  bool was_connected = false;
  bool stopped = false;
  int rc = MOSQ_ERR_SUCCESS;
  std::string reason;
};

MqttTransport::MqttTransport(const UplinkSection& config, const std::string& agent_id,
                             MqttAddress address, uint64_t rng_seed)
    : config_(config),
      client_id_(config.mqtt_client_id.empty() ? agent_id : config.mqtt_client_id),
      batches_topic_("tidegate/" + agent_id + "/batches"),
      acks_topic_("tidegate/" + agent_id + "/acks"),
      address_(std::move(address)),
      rng_(rng_seed),
      backoff_(kReconnectMin, kReconnectMax),
      log_limiter_(kLogEveryNthFailure) {
  health_.not_connected_reason = "not connected yet";
}

MqttTransport::~MqttTransport() { Stop(); }

Result<std::unique_ptr<MqttTransport>> MqttTransport::Create(const UplinkSection& config,
                                                             const std::string& agent_id,
                                                             uint64_t rng_seed) {
  TG_ASSIGN_OR_RETURN(MqttAddress address, ParseMqttsUrl(config.url));
  std::unique_ptr<MqttTransport> transport(
      new MqttTransport(config, agent_id, std::move(address), rng_seed));
  TG_RETURN_IF_ERROR(transport->Configure());
  return transport;
}

Status MqttTransport::Configure() {
  static std::once_flag lib_init;
  std::call_once(lib_init, [] { mosquitto_lib_init(); });
  mosq_.reset(mosquitto_new(client_id_.c_str(), /*clean_session=*/false, this));
  if (!mosq_) return Internal("mosquitto_new failed for the MQTT uplink");
  mosquitto* m = mosq_.get();
  auto fail = [](int rc, const char* what) {
    return InvalidArgument(std::string("MQTT uplink: ") + what + ": " + mosquitto_strerror(rc));
  };
  int rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  if (rc != MOSQ_ERR_SUCCESS) return fail(rc, "MQTT v5");
  rc = mosquitto_threaded_set(m, true);  // Submit publishes from the uplink thread
  if (rc != MOSQ_ERR_SUCCESS) return fail(rc, "threaded mode");
  const TlsSection& tls = config_.tls;
  if (tls.ca_file.empty()) {
    rc = mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
    if (rc != MOSQ_ERR_SUCCESS) return fail(rc, "the system CA store");
  }
  rc = mosquitto_tls_set(m, tls.ca_file.empty() ? nullptr : tls.ca_file.c_str(), nullptr,
                         tls.cert_file.empty() ? nullptr : tls.cert_file.c_str(),
                         tls.key_file.empty() ? nullptr : tls.key_file.c_str(), nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return fail(rc, "uplink.tls (ca_file, cert_file, key_file)");
  // Verify the chain and the broker's name (tls_insecure stays false).
  rc = mosquitto_tls_opts_set(m, /*SSL_VERIFY_PEER=*/1, nullptr, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return fail(rc, "TLS options");
  mosquitto_connect_v5_callback_set(m, &MqttTransport::OnConnect);
  mosquitto_disconnect_v5_callback_set(m, &MqttTransport::OnDisconnect);
  mosquitto_message_v5_callback_set(m, &MqttTransport::OnMessage);
  mosquitto_log_callback_set(m, &MqttTransport::OnLog);
  return Status::Ok();
}

void MqttTransport::Start() {
  thread_ = std::thread([this] {
    NameThisThread("tg-mqtt-uplink");
    Run();
  });
}

void MqttTransport::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    interrupted_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  connected_ = false;
}

bool MqttTransport::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

Status MqttTransport::Submit(const EncodedBatch& batch) {
  if (!connected_) return Unavailable("MQTT uplink not connected");
  if (batch.body.size() > static_cast<size_t>(INT_MAX)) {
    return InvalidArgument("batch " + batch.batch_id + " too large for MQTT");
  }
  PropertyList props;
  props.AddPair("batch_id", batch.batch_id);
  props.AddPair("schema_version", std::to_string(batch.schema_version));
  props.AddPair("content_encoding", "zstd");
  props.AddString(MQTT_PROP_CONTENT_TYPE, std::string(kContentType));
  props.AddString(MQTT_PROP_RESPONSE_TOPIC, acks_topic_);
  props.AddBinary(MQTT_PROP_CORRELATION_DATA, batch.batch_id);
  if (!props.ok()) return Internal("building the properties of batch " + batch.batch_id);
  int rc = mosquitto_publish_v5(mosq_.get(), nullptr, batches_topic_.c_str(),
                                static_cast<int>(batch.body.size()), batch.body.data(), kQos,
                                /*retain=*/false, props.get());
  if (rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("publishing batch " + batch.batch_id + ": " + mosquitto_strerror(rc));
  }
  return Status::Ok();
}

Status MqttTransport::PublishSide(const std::string& topic, std::string_view payload, bool retain) {
  if (!connected_) return Unavailable("MQTT uplink not connected");
  if (payload.size() > static_cast<size_t>(INT_MAX)) return InvalidArgument("too large");
  int rc =
      mosquitto_publish_v5(mosq_.get(), nullptr, topic.c_str(), static_cast<int>(payload.size()),
                           payload.data(), kQos, retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("publishing to " + topic + ": " + mosquitto_strerror(rc));
  }
  return Status::Ok();
}

std::vector<Completion> MqttTransport::Take(milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, wait, [&] { return interrupted_ || woken_ || !completions_.empty(); });
  woken_ = false;
  std::vector<Completion> out(std::make_move_iterator(completions_.begin()),
                              std::make_move_iterator(completions_.end()));
  completions_.clear();
  return out;
}

void MqttTransport::Interrupt() {
  std::lock_guard<std::mutex> lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

void MqttTransport::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

TransportHealth MqttTransport::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  TransportHealth out = health_;
  out.connected = connected_;
  out.connects = connects_;
  return out;
}

void MqttTransport::PushCompletion(Completion completion) {
  std::lock_guard<std::mutex> lock(mu_);
  if (completions_.size() >= kMaxQueuedCompletions) return;
  completions_.push_back(std::move(completion));
  cv_.notify_all();
}

void MqttTransport::Run() {
  while (true) {
    Attempt attempt;
    ConnectAndServe(&attempt);
    if (attempt.stopped || Stopping()) break;
    OnAttemptEnded(attempt);
    milliseconds delay = backoff_.NextJitteredDelay(rng_);
    if (!WaitBeforeRetry(delay)) break;
  }
}

void MqttTransport::ConnectAndServe(Attempt* attempt) {
  connack_rc_ = -1;
  library_error_.clear();
  PropertyList props;
  props.AddInt32(MQTT_PROP_SESSION_EXPIRY_INTERVAL, kSessionExpirySeconds);
  errno = 0;
  // TCP connect blocks (libmosquitto has no asynchronous v5 connect); the TLS handshake and
  // CONNACK then run in the loop below, which Stop interrupts.
  int rc = mosquitto_connect_bind_v5(mosq_.get(), address_.host.c_str(), address_.port,
                                     static_cast<int>(config_.mqtt_keepalive.count() / 1000),
                                     nullptr, props.get());
  int err = errno;
  if (rc != MOSQ_ERR_SUCCESS) {
    attempt->rc = rc;
    attempt->reason = DescribeError(rc, err, library_error_);
    return;
  }
  ServeUntilClosed(attempt);
}

void MqttTransport::ServeUntilClosed(Attempt* attempt) {
  const uint64_t connects_before = connects_;
  const auto deadline = steady_clock::now() + config_.connect_timeout;
  int rc = MOSQ_ERR_SUCCESS;
  int err = 0;
  while (rc == MOSQ_ERR_SUCCESS) {
    errno = 0;
    rc = mosquitto_loop(mosq_.get(), kLoopTimeoutMs, 1);
    err = errno;
    attempt->was_connected = connects_ > connects_before;
    if (Stopping()) {
      attempt->stopped = true;
      // A clean DISCONNECT keeps the session: the broker queues acks until we return.
      if (connected_) mosquitto_disconnect_v5(mosq_.get(), MQTT_RC_NORMAL_DISCONNECTION, nullptr);
      connected_ = false;
      return;
    }
    if (rc == MOSQ_ERR_SUCCESS && !attempt->was_connected && steady_clock::now() > deadline) {
      attempt->reason = "no CONNACK within uplink.connect_timeout";
      mosquitto_disconnect(mosq_.get());
      connected_ = false;
      return;
    }
  }
  connected_ = false;
  attempt->rc = rc;
  attempt->reason = DescribeError(rc, err, library_error_);
  if (!attempt->was_connected && connack_rc_ > 0) {
    attempt->reason = std::string("refused by the broker: ") + mosquitto_reason_string(connack_rc_);
  }
}

void MqttTransport::OnAttemptEnded(const Attempt& attempt) {
  const std::string where = address_.host + ":" + std::to_string(address_.port);
  if (attempt.was_connected) {
    if (steady_clock::now() - connected_at_ >= kStableConnection) backoff_.Reset();
    log_limiter_.Reset();
    failures_in_a_row_ = 0;
    spdlog::warn("uplink: MQTT connection to {} lost ({}), reconnecting", where, attempt.reason);
    std::lock_guard<std::mutex> lock(mu_);
    health_.not_connected_reason = "connection lost: " + attempt.reason;
    return;
  }
  failures_in_a_row_++;
  // What OpenSSL said tells the two alarms apart (docs/mqtt-uplink.md): a chain or name
  // that does not verify is "certificate verify failed"; a broker refusing our certificate
  // sends an alert (TLS 1.3: after the handshake, seen on the first read).
  const bool untrusted = library_error_.find("certificate verify failed") != std::string::npos;
  const bool refused = !untrusted && library_error_.find("alert") != std::string::npos &&
                       (library_error_.find("certificate") != std::string::npos ||
                        library_error_.find("unknown ca") != std::string::npos);
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_.peer_untrusted = untrusted;
    health_.client_cert_refused = refused;
    if (untrusted) health_.untrusted_peer_failures++;
    if (refused) health_.client_cert_refused_failures++;
    health_.not_connected_reason = attempt.reason;
  }
  if (!log_limiter_.ShouldLog(attempt.reason, failures_in_a_row_)) return;
  if (untrusted) {
    spdlog::error(
        "uplink: ALARM the MQTT broker at {} presented a certificate that does not verify "
        "against uplink.tls ({}); batches kept, attempt {}",
        where, attempt.reason, failures_in_a_row_);
  } else if (refused) {
    spdlog::error(
        "uplink: ALARM the MQTT broker at {} refused our client certificate ({}; uplink.tls "
        "cert_file {}); batches kept, attempt {}",
        where, attempt.reason, config_.tls.cert_file, failures_in_a_row_);
  } else {
    spdlog::warn("uplink: cannot connect to the MQTT broker at {} (attempt {}): {}", where,
                 failures_in_a_row_, attempt.reason);
  }
}

bool MqttTransport::WaitBeforeRetry(milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void MqttTransport::OnConnect(mosquitto* m, void* self_ptr, int rc, int flags,
                              const mosquitto_property*) {
  auto* self = static_cast<MqttTransport*>(self_ptr);
  if (rc != 0) {
    self->connack_rc_ = rc;
    return;
  }
  const bool session_present = (flags & 1) != 0;
  spdlog::info("uplink: connected to the MQTT broker at {}:{} as {} (session {})",
               self->address_.host, self->address_.port, self->client_id_,
               session_present ? "resumed" : "new");
  // Also on a resumed session: cheap, and repairs a session the broker lost.
  int sub = mosquitto_subscribe_v5(m, nullptr, self->acks_topic_.c_str(), kQos, 0, nullptr);
  if (sub != MOSQ_ERR_SUCCESS) {
    spdlog::error("uplink: subscribing to {} failed: {}", self->acks_topic_,
                  mosquitto_strerror(sub));
  }
  if (self->side_channel_ != nullptr) {
    const std::string& topic = self->side_channel_->topic();
    sub = mosquitto_subscribe_v5(m, nullptr, topic.c_str(), kQos, 0, nullptr);
    if (sub != MOSQ_ERR_SUCCESS) {
      spdlog::error("uplink: subscribing to {} failed: {}", topic, mosquitto_strerror(sub));
    }
  }
  self->failures_in_a_row_ = 0;
  self->connected_at_ = steady_clock::now();
  self->connects_++;
  self->connected_ = true;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->health_.peer_untrusted = false;
    self->health_.client_cert_refused = false;
    self->health_.not_connected_reason.clear();
    self->woken_ = true;  // batches waiting for the connection can go now
  }
  self->cv_.notify_all();
  if (self->side_channel_ != nullptr) self->side_channel_->OnConnected();
}

void MqttTransport::OnDisconnect(mosquitto*, void* self_ptr, int, const mosquitto_property*) {
  static_cast<MqttTransport*>(self_ptr)->connected_ = false;
}

void MqttTransport::OnMessage(mosquitto*, void* self_ptr, const mosquitto_message* message,
                              const mosquitto_property* props) {
  auto* self = static_cast<MqttTransport*>(self_ptr);
  if (message->topic == nullptr) return;
  std::string_view payload(static_cast<const char*>(message->payload),
                           message->payloadlen > 0 ? static_cast<size_t>(message->payloadlen) : 0);
  if (self->side_channel_ != nullptr && self->side_channel_->topic() == message->topic) {
    self->side_channel_->OnMessage(payload, message->retain);
    return;
  }
  if (self->acks_topic_ != message->topic) return;
  auto ack = ParseMqttAck(payload);
  if (!ack.ok()) {
    if (self->invalid_acks_++ % 100 == 0) {
      spdlog::warn("uplink: ignoring an invalid ack on {}: {}", self->acks_topic_,
                   ack.status().message());
    }
    return;
  }
  std::string correlation;
  void* data = nullptr;
  uint16_t len = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &data, &len, false) !=
      nullptr) {
    correlation.assign(static_cast<const char*>(data), len);
    free(data);  // NOLINT(cppcoreguidelines-no-malloc): libmosquitto allocates with malloc
  }
  std::optional<std::string> id = AckBatchId(correlation, *ack);
  if (!id) return;
  Completion completion;
  completion.batch_id = std::move(*id);
  completion.result.kind = ack->kind;
  completion.result.reason = ack->reason;
  self->PushCompletion(std::move(completion));
}

// Keeps the first error of an attempt: for a failed handshake that is OpenSSL's reason.
void MqttTransport::OnLog(mosquitto*, void* self_ptr, int level, const char* text) {
  auto* self = static_cast<MqttTransport*>(self_ptr);
  if (level != MOSQ_LOG_ERR || text == nullptr || !self->library_error_.empty()) return;
  std::string_view error(text);
  if (error.rfind("OpenSSL Error[", 0) == 0 && error.find("]: ") != std::string_view::npos) {
    error.remove_prefix(error.find("]: ") + 3);
  }
  self->library_error_ = error;
}

}  // namespace tidegate::uplink
