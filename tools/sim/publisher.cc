// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/publisher.h"

#include <fmt/format.h>
#include <mosquitto.h>
#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tidegate::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kKeepaliveSeconds = 30;
constexpr unsigned kReconnectDelayMinSeconds = 1;
constexpr unsigned kReconnectDelayMaxSeconds = 10;
// How often blocked waits look at the stop and abort flags (a signal handler cannot notify).
constexpr milliseconds kAbortPoll{100};
constexpr const char* kSystemCaPath = "/etc/ssl/certs";

struct MosquittoDeleter {
  void operator()(mosquitto* mosq) const { mosquitto_destroy(mosq); }
};

// loop_stop(force) cancels the network thread; callbacks hold our mutex and write the log,
// so they must not be cancelled halfway.
class NoCancelScope {
 public:
  NoCancelScope() { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_); }
  ~NoCancelScope() { pthread_setcancelstate(old_, nullptr); }
  NoCancelScope(const NoCancelScope&) = delete;
  NoCancelScope& operator=(const NoCancelScope&) = delete;

 private:
  int old_ = 0;
};

// strerror is not thread-safe; the category's message is.
std::string ErrnoText(int error) { return std::generic_category().message(error); }

// errno is only meaningful for MOSQ_ERR_ERRNO; saved_errno is errno right after the call.
std::string ErrorText(int rc, int saved_errno) {
  if (rc == MOSQ_ERR_ERRNO) return ErrnoText(saved_errno);
  if (rc == MOSQ_ERR_EAI) return "host name lookup failed";
  return mosquitto_strerror(rc);
}

class MqttPublisher final : public Publisher {
 public:
  explicit MqttPublisher(PublisherOptions options) : options_(std::move(options)) {
    mosquitto_lib_init();
  }
  ~MqttPublisher() override {
    Stop();
    mosq_.reset();
    mosquitto_lib_cleanup();
  }
  MqttPublisher(const MqttPublisher&) = delete;
  MqttPublisher& operator=(const MqttPublisher&) = delete;

  Status Connect();
  Status Publish(const std::string& topic, const std::string& payload, bool duplicate,
                 std::string_view broken) override;
  uint64_t Finish(milliseconds timeout) override;
  PublisherCounters counters() const override;

 private:
  static void OnConnect(mosquitto*, void* self, int rc) {
    NoCancelScope no_cancel;
    static_cast<MqttPublisher*>(self)->HandleConnect(rc);
  }
  static void OnDisconnect(mosquitto*, void* self, int rc) {
    NoCancelScope no_cancel;
    static_cast<MqttPublisher*>(self)->HandleDisconnect(rc);
  }
  static void OnPublish(mosquitto*, void* self, int mid) {
    NoCancelScope no_cancel;
    static_cast<MqttPublisher*>(self)->HandleConfirmed(mid);
  }
  static void OnLog(mosquitto*, void* self, int level, const char* text) {
    if (level != MOSQ_LOG_ERR || text == nullptr) return;
    NoCancelScope no_cancel;
    static_cast<MqttPublisher*>(self)->HandleLibraryError(text);
  }

  Status Configure();
  Status ConfigureSecurity();  // TLS and credentials
  Status WaitForConnack();
  void HandleConnect(int rc);
  void HandleDisconnect(int rc);
  void HandleConfirmed(int mid);
  void HandleLibraryError(std::string_view text);
  bool WaitForRoom(std::unique_lock<std::mutex>& lock);
  void Record(int mid, uint64_t epoch, std::string line);
  void Confirm(std::string_view line);
  static bool Raised(const std::atomic<bool>* flag) { return flag != nullptr && flag->load(); }
  void Stop();

  const PublisherOptions options_;
  const std::string endpoint_ = fmt::format("{}:{}", options_.host, options_.port);
  std::unique_ptr<mosquitto, MosquittoDeleter> mosq_;
  bool loop_running_ = false;  // owner thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // mid -> log line ("" without a log) of each message awaiting its acknowledgement; at
  // QoS 0, of each message libmosquitto has not yet written to the socket.
  std::unordered_map<int, std::string> pending_;  // guarded by mu_
  // Mids acknowledged before Publish could record them (the network thread can win that
  // race); only the message being published can be among them, so Record clears the rest.
  std::vector<int> early_;  // guarded by mu_
  bool connected_ = false;  // guarded by mu_
  int connack_rc_ = -1;     // guarded by mu_; first CONNACK result, -1 until then
  // The first error libmosquitto logged (a TLS handshake fails in the network thread, where
  // only its log callback tells why), for the message when no CONNACK comes.
  std::string library_error_;   // guarded by mu_
  uint64_t epoch_ = 0;          // guarded by mu_; connection losses so far
  PublisherCounters counters_;  // guarded by mu_; outstanding comes from pending_
};

Status MqttPublisher::Configure() {
  mosquitto_connect_callback_set(mosq_.get(), &MqttPublisher::OnConnect);
  mosquitto_disconnect_callback_set(mosq_.get(), &MqttPublisher::OnDisconnect);
  mosquitto_publish_callback_set(mosq_.get(), &MqttPublisher::OnPublish);
  mosquitto_log_callback_set(mosq_.get(), &MqttPublisher::OnLog);
  // MOSQ_OPT_SEND_MAXIMUM is what the deprecated mosquitto_max_inflight_messages_set sets.
  int rc = mosquitto_int_option(mosq_.get(), MOSQ_OPT_SEND_MAXIMUM, options_.max_inflight);
  if (rc != MOSQ_ERR_SUCCESS) {
    return InvalidArgument(
        fmt::format("max in-flight {}: {}", options_.max_inflight, mosquitto_strerror(rc)));
  }
  // Without it the last messages of a burst wait for the broker's delayed ACK (40 ms).
  rc = mosquitto_int_option(mosq_.get(), MOSQ_OPT_TCP_NODELAY, 1);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Internal(fmt::format("setting TCP_NODELAY: {}", mosquitto_strerror(rc)));
  }
  rc = mosquitto_reconnect_delay_set(mosq_.get(), kReconnectDelayMinSeconds,
                                     kReconnectDelayMaxSeconds, true);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Internal(fmt::format("setting the reconnect delay: {}", mosquitto_strerror(rc)));
  }
  return ConfigureSecurity();
}

Status MqttPublisher::ConfigureSecurity() {
  const PublisherOptions& o = options_;
  if (o.tls || !o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty()) {
    auto c_str = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    // Without a CA file, the system's store (Debian's hashed /etc/ssl/certs).
    const int rc = mosquitto_tls_set(mosq_.get(), c_str(o.ca_file),
                                     o.ca_file.empty() ? kSystemCaPath : nullptr,
                                     c_str(o.cert_file), c_str(o.key_file), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      // libmosquitto checks here that the files can be read, and that cert and key go together.
      return InvalidArgument(fmt::format("TLS setup (--ca-file, --cert-file, --key-file): {}",
                                         mosquitto_strerror(rc)));
    }
  }
  if (!o.username.empty()) {
    const int rc = mosquitto_username_pw_set(mosq_.get(), o.username.c_str(),
                                             o.password.empty() ? nullptr : o.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) {
      return InvalidArgument(fmt::format("MQTT credentials: {}", mosquitto_strerror(rc)));
    }
  }
  return Status::Ok();
}

Status MqttPublisher::Connect() {
  mosq_.reset(mosquitto_new(options_.client_id.c_str(), /*clean_session=*/true, this));
  if (mosq_ == nullptr) {
    return Internal(fmt::format("creating the MQTT client: {}", ErrnoText(errno)));
  }
  TG_RETURN_IF_ERROR(Configure());
  int rc = mosquitto_connect(mosq_.get(), options_.host.c_str(), options_.port, kKeepaliveSeconds);
  int saved_errno = errno;
  if (rc != MOSQ_ERR_SUCCESS) {
    std::lock_guard lock(mu_);
    return Unavailable(fmt::format("cannot connect to MQTT broker {}: {}{}", endpoint_,
                                   ErrorText(rc, saved_errno),
                                   library_error_.empty() ? "" : " (" + library_error_ + ")"));
  }
  rc = mosquitto_loop_start(mosq_.get());
  saved_errno = errno;
  if (rc != MOSQ_ERR_SUCCESS) {
    return Internal(
        fmt::format("starting the MQTT network thread: {}", ErrorText(rc, saved_errno)));
  }
  loop_running_ = true;
  return WaitForConnack();
}

Status MqttPublisher::WaitForConnack() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, options_.connect_timeout, [this] { return connack_rc_ != -1; })) {
    return Unavailable(fmt::format("MQTT broker {} did not accept the connection within {} ms{}",
                                   endpoint_, options_.connect_timeout.count(),
                                   library_error_.empty() ? "" : ": " + library_error_));
  }
  if (connack_rc_ != 0) {
    return Unavailable(fmt::format("MQTT broker {} refused the connection: {}", endpoint_,
                                   mosquitto_connack_string(connack_rc_)));
  }
  return Status::Ok();
}

void MqttPublisher::HandleConnect(int rc) {
  bool reconnect = false;
  {
    std::lock_guard lock(mu_);
    reconnect = connack_rc_ == 0;
    if (connack_rc_ == -1) connack_rc_ = rc;
    connected_ = rc == 0;
    if (reconnect && rc == 0) ++counters_.reconnects;
  }
  cv_.notify_all();
  if (reconnect) {
    fmt::print(stderr, "tidegate-sim: {} {}\n", rc == 0 ? "reconnected to" : "refused by",
               endpoint_);
  }
}

// Keeps the first error: for a failed handshake that is OpenSSL's reason, e.g.
// "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed".
void MqttPublisher::HandleLibraryError(std::string_view text) {
  std::lock_guard lock(mu_);
  if (library_error_.empty()) library_error_ = text;
}

void MqttPublisher::HandleDisconnect(int rc) {
  {
    std::lock_guard lock(mu_);
    connected_ = false;
    ++epoch_;
    // libmosquitto discards unwritten QoS 0 packets when it reconnects (QoS 1/2 messages
    // stay queued and are resent), so they will never be confirmed. Our own disconnect
    // (rc 0) writes them first.
    if (options_.qos == 0 && rc != 0) pending_.clear();
  }
  cv_.notify_all();
  if (rc != 0) {
    fmt::print(stderr, "tidegate-sim: lost the connection to {} ({}); reconnecting\n", endpoint_,
               mosquitto_strerror(rc));
  }
}

void MqttPublisher::Confirm(std::string_view line) {
  ++counters_.confirmed;
  if (options_.log != nullptr) options_.log->Append(line);
}

void MqttPublisher::HandleConfirmed(int mid) {
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(mid);
    if (it == pending_.end()) {
      early_.push_back(mid);
      return;
    }
    if (options_.qos > 0) Confirm(it->second);
    pending_.erase(it);
  }
  cv_.notify_all();
}

bool MqttPublisher::WaitForRoom(std::unique_lock<std::mutex>& lock) {
  auto ready = [this] {
    return pending_.size() < options_.max_outstanding && (options_.qos > 0 || connected_);
  };
  while (!ready()) {
    if (Raised(options_.stop)) return false;
    cv_.wait_for(lock, kAbortPoll);
  }
  return true;
}

void MqttPublisher::Record(int mid, uint64_t epoch, std::string line) {
  std::lock_guard lock(mu_);
  ++counters_.submitted;
  const bool acked = std::find(early_.begin(), early_.end(), mid) != early_.end();
  early_.clear();
  if (options_.qos == 0) {
    Confirm(line);
    // Tracked only to bound libmosquitto's write queue; a message from before a connection
    // loss will never be written, so it is not tracked.
    if (!acked && epoch == epoch_) pending_.emplace(mid, std::string());
    return;
  }
  if (acked) {
    Confirm(line);
  } else {
    pending_.emplace(mid, std::move(line));
  }
}

Status MqttPublisher::Publish(const std::string& topic, const std::string& payload, bool duplicate,
                              std::string_view broken) {
  std::string line =
      options_.log != nullptr ? FormatLogLine(topic, options_.qos, duplicate, payload, broken) : "";
  for (;;) {
    uint64_t epoch = 0;
    {
      std::unique_lock lock(mu_);
      if (!WaitForRoom(lock)) return Unavailable("publishing stopped while waiting for the broker");
      epoch = epoch_;
    }
    int mid = 0;
    const int rc =
        mosquitto_publish(mosq_.get(), &mid, topic.c_str(), static_cast<int>(payload.size()),
                          payload.data(), options_.qos, /*retain=*/false);
    const int saved_errno = errno;
    // At QoS 1/2 NO_CONN still queues the message for the next connection; at QoS 0 the
    // message is dropped, so it is tried again once connected.
    if (rc == MOSQ_ERR_NO_CONN && options_.qos == 0) {
      std::this_thread::sleep_for(milliseconds(1));
      continue;
    }
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
      return Internal(fmt::format("publishing to {}: {}", topic, ErrorText(rc, saved_errno)));
    }
    Record(mid, epoch, std::move(line));
    return Status::Ok();
  }
}

void MqttPublisher::Stop() {
  if (!loop_running_) return;
  const int rc = mosquitto_disconnect(mosq_.get());
  // Without a connection the network thread may be sleeping between reconnect attempts;
  // cancelling it is the only way to end it promptly.
  mosquitto_loop_stop(mosq_.get(), /*force=*/rc != MOSQ_ERR_SUCCESS);
  loop_running_ = false;
}

uint64_t MqttPublisher::Finish(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  {
    std::unique_lock lock(mu_);
    while (!pending_.empty() && !Raised(options_.abort) && steady_clock::now() < deadline) {
      cv_.wait_until(lock, std::min(deadline, steady_clock::now() + kAbortPoll));
    }
  }
  Stop();
  std::lock_guard lock(mu_);
  return pending_.size();
}

PublisherCounters MqttPublisher::counters() const {
  std::lock_guard lock(mu_);
  PublisherCounters counters = counters_;
  counters.outstanding = pending_.size();
  return counters;
}

}  // namespace

Result<std::unique_ptr<Publisher>> ConnectMqttPublisher(const PublisherOptions& options) {
  auto publisher = std::make_unique<MqttPublisher>(options);
  TG_RETURN_IF_ERROR(publisher->Connect());
  return std::unique_ptr<Publisher>(std::move(publisher));
}

}  // namespace tidegate::sim
