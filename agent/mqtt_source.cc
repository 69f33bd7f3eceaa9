// SPDX-License-Identifier: Apache-2.0
#include "agent/mqtt_source.h"

#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <system_error>

#include "agent/socket_buffer.h"
#include "common/test_stall.h"
#include "common/thread_name.h"

namespace tidegate::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr milliseconds kReconnectMin = seconds(1);
constexpr milliseconds kReconnectMax = seconds(30);
// A broker that accepts TCP but never answers (a hung handshake, a black-holed SYN) must
// not hold the source forever.
constexpr milliseconds kConnackTimeout = seconds(15);
// How long one mosquitto_loop call may wait for the socket; bounds how fast Stop is seen.
constexpr int kLoopTimeoutMs = 100;
// At most this many packets are read back to back before the next mosquitto_loop (which also
// writes, keeps alive and applies topic changes).
constexpr int kReadBurst = 256;
// How soon to retry PUBACKs the socket could not take at the end of a burst (its send buffer
// full: the broker is not reading).
constexpr int kPendingWriteRetryMs = 10;
// A connection must last this long to reset the backoff: a broker that accepts and then
// drops us at once (a client id taken over, a crashing broker) is retried ever more slowly.
constexpr auto kStableConnection = seconds(10);
// During a long outage, log every Nth failed attempt (plus the first and each new reason).
constexpr uint64_t kLogEveryNthFailure = 10;
// The longest wait between two beats of the heartbeat while waiting to reconnect.
constexpr milliseconds kBeatEvery = seconds(1);
// A SUBACK's granted QoS for a filter the broker refused (MQTT 3.1.1 section 3.9.3).
constexpr int kSubackRefused = 0x80;

Status MosqError(int rc, std::string_view what) {
  return Unavailable(std::string(what) + ": " + mosquitto_strerror(rc));
}

// rc and errno of a failed libmosquitto call as text; library_error is what libmosquitto
// logged meanwhile (OpenSSL's reason for a TLS failure).
std::string DescribeError(int rc, int err, const std::string& library_error) {
  if (rc == MOSQ_ERR_ERRNO && err != 0) {
    return std::error_code(err, std::generic_category()).message();
  }
  if ((rc == MOSQ_ERR_TLS || rc == MOSQ_ERR_TLS_HANDSHAKE) && !library_error.empty()) {
    return "TLS: " + library_error;
  }
  std::string text = mosquitto_strerror(rc);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

// TCP_CORK on the broker socket for the life of the object, for a TLS connection (without
// TLS a SocketBuffer::WriteBatch does the same in user space, without the syscalls): what
// libmosquitto writes meanwhile (a PUBACK for each QoS 1 message of a burst) leaves in full
// segments, and all of it when the object ends, instead of one segment per acknowledgement.
// A burst ends at kReadBurst messages or an empty socket, so no acknowledgement waits longer
// than one burst. Clearing the cork after libmosquitto closed the socket is harmless: a
// reused descriptor number was never corked, and a closed one only fails.
class Cork {
 public:
  explicit Cork(int fd) : fd_(fd) { Set(1); }
  ~Cork() { Set(0); }
  Cork(const Cork&) = delete;
  Cork& operator=(const Cork&) = delete;

 private:
  void Set(int on) const {
    if (fd_ >= 0) (void)setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  }
  int fd_;
};

// Errors meaning no TCP connection was made at all.
bool IsNetworkError(int rc, int err) {
  if (rc == MOSQ_ERR_EAI) return true;
  if (rc != MOSQ_ERR_ERRNO) return false;
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == ETIMEDOUT ||
         err == EADDRNOTAVAIL || err == ENOENT;
}

// libmosquitto retries a TLS handshake on any socket error, so with TLS a refused TCP
// connect spins until a timeout instead of failing. A socket that reports a hang-up
// without ever being connected has failed to connect; *err is its error (0 if consumed).
bool ConnectFailedUnderTls(int fd, int* err) {
  if (fd < 0) return false;
  pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
  if (::poll(&p, 1, 0) != 1 || (p.revents & (POLLHUP | POLLERR)) == 0) return false;
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof(peer);
  if (so_error == 0 && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
    return false;  // it was connected: libmosquitto reports how it ended
  }
  *err = so_error != 0 ? so_error : ECONNREFUSED;
  return true;
}

std::string DelayText(milliseconds delay) { return fmt::format("{}s", delay.count() / 1000); }

}  // namespace

// What one connection attempt saw; network thread only.
struct MqttSource::Attempt {
  bool was_connected = false;  // a CONNACK accepted us during the attempt
  bool stopped = false;        // ended by Stop()
  ConnectFailureKind kind = ConnectFailureKind::kNetwork;
  std::string reason;
};

MqttSource::MqttSource(const MqttSourceSection& config, MessageHandler handler)
    : config_(config),
      handler_(std::move(handler)),
      progress_(steady_clock::now()),
      topics_(config.topics),
      backoff_(kReconnectMin, kReconnectMax),
      log_limiter_(kLogEveryNthFailure) {}

MqttSource::~MqttSource() {
  Stop();
  if (mosq_) mosquitto_destroy(mosq_);
}

Status MqttSource::Start() {
  static std::once_flag lib_init;
  std::call_once(lib_init, [] { mosquitto_lib_init(); });
  {
    // Every call on the client comes from the network thread (or before it starts): no
    // wakeup socketpair, so no extra write and read for each PUBACK.
    const WithoutWakeupPair no_wakeup_pair;
    mosq_ = mosquitto_new(config_.client_id.c_str(), /*clean_session=*/false, this);
  }
  if (!mosq_) return Internal("mosquitto_new failed");
  mosquitto_connect_with_flags_callback_set(mosq_, &MqttSource::OnConnect);
  mosquitto_disconnect_callback_set(mosq_, &MqttSource::OnDisconnect);
  mosquitto_subscribe_callback_set(mosq_, &MqttSource::OnSubscribe);
  mosquitto_message_callback_set(mosq_, &MqttSource::OnMessage);
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
  SetNotConnectedReason(
      fmt::format("connecting to {}:{} (first attempt)", config_.host, config_.port));
  thread_ = std::thread([this] {
    NameThisThread("tg-ingest");
    Run();
  });
  return Status::Ok();
}

void MqttSource::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  connected_ = false;
  subscribed_ = false;
}

std::string MqttSource::not_connected_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return not_connected_reason_;
}

void MqttSource::SetNotConnectedReason(std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  not_connected_reason_ = std::move(reason);
}

bool MqttSource::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

// In slices of a second, so that the heartbeat shows a source that waits is not stuck.
bool MqttSource::WaitBeforeRetry(milliseconds delay) {
  const auto until = steady_clock::now() + delay;
  while (true) {
    Beat();
    const auto now = steady_clock::now();
    if (now >= until) return true;
    std::unique_lock<std::mutex> lock(mu_);
    const auto slice = std::min<steady_clock::duration>(until - now, kBeatEvery);
    if (wake_.wait_for(lock, slice, [this] { return stopping_; })) return false;
  }
}

void MqttSource::Beat() {
  TestStallPoint(StallPoint::kIngest);
  progress_.Beat(steady_clock::now());
}

void MqttSource::Run() {
  while (true) {
    Beat();
    Attempt attempt = ConnectAndServe();
    if (attempt.stopped) break;
    milliseconds delay = OnAttemptEnded(attempt);
    if (!WaitBeforeRetry(delay)) break;
  }
}

MqttSource::Attempt MqttSource::ConnectAndServe() {
  Attempt attempt;
  connack_rc_ = -1;
  library_error_.clear();
  // On until the CONNACK (OnConnect): libmosquitto formats every log line, debug ones
  // included, whenever a log callback is set, and the handshake's errors are all we keep.
  mosquitto_log_callback_set(mosq_, &MqttSource::OnLog);
  errno = 0;
  // Non-blocking TCP connect: a dead host cannot hold Stop() for the kernel's SYN timeout.
  // Some libmosquitto releases make their wakeup socketpair again at each connect (see Start;
  // 2.0.11 only in mosquitto_new).
  int rc = MOSQ_ERR_SUCCESS;
  {
    const WithoutWakeupPair no_wakeup_pair;
    rc = mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port,
                                 static_cast<int>(config_.keepalive.count() / 1000));
  }
  int err = errno;
  if (rc == MOSQ_ERR_SUCCESS) {
    ServeUntilClosed(&attempt);
    return attempt;
  }
  attempt.kind = rc == MOSQ_ERR_TLS ? ConnectFailureKind::kTls : ConnectFailureKind::kNetwork;
  attempt.reason = DescribeError(rc, err, library_error_);
  return attempt;
}

// Runs the network loop until the connection ends, Stop() is called, or no CONNACK came
// within kConnackTimeout, and records in *attempt what happened.
void MqttSource::ServeUntilClosed(Attempt* attempt) {
  const uint64_t connects_before = connects_;
  const auto deadline = steady_clock::now() + kConnackTimeout;
  int rc = MOSQ_ERR_SUCCESS;
  int err = 0;
  // Without TLS only: with TLS, OpenSSL reads the socket itself and buffers whole records.
  std::optional<SocketBuffer> socket_buffer;
  if (!config_.tls && mosquitto_socket(mosq_) >= 0) socket_buffer.emplace(mosquitto_socket(mosq_));
  while (rc == MOSQ_ERR_SUCCESS) {
    Beat();
    errno = 0;
    // mosquitto_loop's select() sees neither packets already read into the buffer nor
    // acknowledgements still waiting in it.
    int timeout_ms = kLoopTimeoutMs;
    if (SocketBuffer::PendingWrites() > 0 && !SocketBuffer::FlushWrites()) {
      timeout_ms = kPendingWriteRetryMs;
    }
    if (SocketBuffer::Buffered() > 0) timeout_ms = 0;
    {
      // What libmosquitto writes during this turn leaves together at its end. That includes
      // the PUBACK of each QoS 1 message, which libmosquitto writes before it hands the
      // message over: held back here, it leaves only after the handler has returned (with
      // buffer.commit_interval 0, after the message was committed).
      std::optional<SocketBuffer::WriteBatch> batch;
      if (socket_buffer) batch.emplace();
      rc = mosquitto_loop(mosq_, timeout_ms, 1);
      err = errno;
      if (rc == MOSQ_ERR_SUCCESS && connected_) rc = ReadBurst(socket_buffer.has_value(), &err);
      // A socket libmosquitto closed meanwhile takes its held-back bytes with it: its number
      // may already belong to another file.
      if (socket_buffer && mosquitto_socket(mosq_) != socket_buffer->fd()) socket_buffer.reset();
    }
    attempt->was_connected = connects_ > connects_before;
    if (connected_) (void)ApplyPendingTopics(true);
    if (Stopping()) {
      attempt->stopped = true;
      if (connected_) mosquitto_disconnect(mosq_);
      connected_ = false;
      subscribed_ = false;
      return;
    }
    if (rc == MOSQ_ERR_SUCCESS && !attempt->was_connected && config_.tls &&
        ConnectFailedUnderTls(mosquitto_socket(mosq_), &err)) {
      rc = MOSQ_ERR_ERRNO;
      break;
    }
    if (rc == MOSQ_ERR_SUCCESS && !attempt->was_connected && steady_clock::now() > deadline) {
      attempt->kind = ConnectFailureKind::kTimeout;
      attempt->reason = fmt::format("no CONNACK within {} s", kConnackTimeout.count() / 1000);
      return;
    }
  }
  connected_ = false;
  subscribed_ = false;
  attempt->reason = DescribeError(rc, err, library_error_);
  if (attempt->was_connected) return;
  if (connack_rc_ > 0) {
    attempt->kind = ConnectFailureKind::kRefusedByBroker;
    attempt->reason =
        std::string("refused by the broker: ") + mosquitto_connack_string(connack_rc_);
  } else if (rc == MOSQ_ERR_TLS || rc == MOSQ_ERR_TLS_HANDSHAKE) {
    attempt->kind = ConnectFailureKind::kTls;
  } else if (IsNetworkError(rc, err)) {
    attempt->kind = ConnectFailureKind::kNetwork;
  } else {
    attempt->kind = ConnectFailureKind::kClosedBeforeConnack;
    attempt->reason = "closed before CONNACK (" + attempt->reason + ")";
  }
}

milliseconds MqttSource::OnAttemptEnded(const Attempt& attempt) {
  if (attempt.was_connected) {
    if (steady_clock::now() - connected_at_ >= kStableConnection) backoff_.Reset();
    log_limiter_.Reset();
    failures_in_a_row_ = 0;
    milliseconds delay = backoff_.NextDelay();
    spdlog::warn("mqtt: connection to {}:{} lost ({}), reconnecting in {}", config_.host,
                 config_.port, attempt.reason, DelayText(delay));
    SetNotConnectedReason("connection lost: " + attempt.reason);
    return delay;
  }
  connect_failures_++;
  failures_in_a_row_++;
  milliseconds delay = backoff_.NextDelay();
  std::string hint(ConnectHint(attempt.kind, config_.tls.has_value()));
  std::string why = hint.empty() ? attempt.reason : attempt.reason + "; " + hint;
  if (log_limiter_.ShouldLog(attempt.reason, failures_in_a_row_)) {
    spdlog::warn("mqtt: cannot connect to {}:{} (attempt {}): {}; retrying in {}", config_.host,
                 config_.port, failures_in_a_row_, why, DelayText(delay));
  }
  SetNotConnectedReason(why);
  return delay;
}

void MqttSource::SetTopics(std::vector<TopicSpec> topics) {
  const std::lock_guard<std::mutex> lock(mu_);
  pending_topics_ = std::move(topics);
}

bool MqttSource::ApplyPendingTopics(bool connected) {
  std::optional<std::vector<TopicSpec>> next;
  {
    const std::lock_guard<std::mutex> lock(mu_);
    next.swap(pending_topics_);
  }
  if (!next) return false;
  auto find = [](const std::vector<TopicSpec>& list, const std::string& filter) {
    return std::find_if(list.begin(), list.end(),
                        [&](const TopicSpec& t) { return t.filter == filter; });
  };
  // Removed filters leave the persistent session even when we are offline now: the next
  // connection unsubscribes them (Subscribe calls this first).
  for (const TopicSpec& old : topics_) {
    if (find(*next, old.filter) != next->end()) continue;
    const int rc = mosquitto_unsubscribe(mosq_, nullptr, old.filter.c_str());
    spdlog::info("mqtt: unsubscribe {}{}", old.filter,
                 rc == MOSQ_ERR_SUCCESS ? "" : std::string(" failed: ") + mosquitto_strerror(rc));
  }
  if (connected) {
    for (const TopicSpec& topic : *next) {
      const auto old = find(topics_, topic.filter);
      if (old != topics_.end() && old->qos == topic.qos) continue;
      const int rc = mosquitto_subscribe(mosq_, nullptr, topic.filter.c_str(), topic.qos);
      spdlog::info("mqtt: subscribe {}{}", topic.filter,
                   rc == MOSQ_ERR_SUCCESS ? "" : std::string(" failed: ") + mosquitto_strerror(rc));
    }
  }
  topics_ = std::move(*next);
  return true;
}

void MqttSource::Subscribe() {
  (void)ApplyPendingTopics(false);
  subscribed_ = false;
  subacks_pending_ = 0;
  for (const TopicSpec& topic : topics_) {
    int rc = mosquitto_subscribe(mosq_, nullptr, topic.filter.c_str(), topic.qos);
    if (rc != MOSQ_ERR_SUCCESS) {
      spdlog::error("mqtt: subscribe {} failed: {}", topic.filter, mosquitto_strerror(rc));
      continue;
    }
    ++subacks_pending_;
  }
  if (subacks_pending_ == 0) subscribed_ = true;  // nothing to wait for; the errors are logged
}

void MqttSource::OnConnect(mosquitto*, void* self_ptr, int rc, int flags) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  if (rc != 0) {
    self->connack_rc_ = rc;  // logged with the attempt's failure
    return;
  }
  // Connected: no more log callback. With one set, libmosquitto formats a debug line for every
  // message received, and at QoS 1 one for its PUBACK too (vsnprintf into a malloc'd buffer,
  // under a mutex): 1.7% of the agent's CPU samples at QoS 0, 1.5% at QoS 1. A TLS error later
  // in the session is then described by libmosquitto's error code, not OpenSSL's text.
  mosquitto_log_callback_set(self->mosq_, nullptr);
  bool session_present = (flags & 1) != 0;
  spdlog::info("mqtt: connected to {}:{} as {} (session {}{})", self->config_.host,
               self->config_.port, self->config_.client_id, session_present ? "resumed" : "new",
               self->failures_in_a_row_ == 0
                   ? std::string()
                   : fmt::format(", after {} failed attempts", self->failures_in_a_row_));
  self->failures_in_a_row_ = 0;
  self->connected_at_ = steady_clock::now();
  self->SetNotConnectedReason("");
  self->Subscribe();
  self->connects_++;
  self->connected_ = true;
}

// Only records: errno must survive until mosquitto_loop returns to ServeUntilClosed.
void MqttSource::OnDisconnect(mosquitto*, void* self_ptr, int) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  self->connected_ = false;
  self->subscribed_ = false;
}

void MqttSource::OnSubscribe(mosquitto*, void* self_ptr, int, int qos_count,
                             const int* granted_qos) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  for (int i = 0; i < qos_count && granted_qos != nullptr; ++i) {
    if (granted_qos[i] == kSubackRefused) {
      spdlog::error("mqtt: the broker refused a subscription (check its ACL for our client id)");
    }
  }
  if (self->subacks_pending_ == 0 || --self->subacks_pending_ > 0) return;
  spdlog::info("mqtt: the broker acknowledged {} subscription(s)", self->topics_.size());
  self->subscribed_ = true;
}

void MqttSource::OnMessage(mosquitto*, void* self_ptr, const ::mosquitto_message* message) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  ++self->messages_;
  std::string_view payload(static_cast<const char*>(message->payload),
                           message->payloadlen > 0 ? static_cast<size_t>(message->payloadlen) : 0);
  self->handler_(message->topic ? std::string_view(message->topic) : std::string_view(), payload);
}

// mosquitto_loop reads one packet per call at QoS 0 (a select() and three or four reads per
// message); under load more are already waiting in the socket. This reads on while PUBLISH
// packets keep coming, without a select() each, and (with the socket buffered) out of the
// read buffer, refilled by one read() per 64 KiB; a read that finds both empty (EAGAIN) ends
// the burst.
int MqttSource::ReadBurst(bool socket_buffered, int* err) {
  // With TLS, corked from the second message on (ServeUntilClosed's WriteBatch holds them back
  // otherwise): the burst's PUBACKs leave together when it ends, and a lone message's at once.
  std::optional<Cork> cork;
  for (int i = 0; i < kReadBurst && !Stopping(); ++i) {
    const uint64_t before = messages_;
    errno = 0;
    const int rc = mosquitto_loop_read(mosq_, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      *err = errno;
      return rc;
    }
    // Drained, or a packet other than PUBLISH: mosquitto_loop handles the rest.
    if (messages_ == before && SocketBuffer::Buffered() == 0) break;
    if (!socket_buffered && !cork) cork.emplace(mosquitto_socket(mosq_));
  }
  return MOSQ_ERR_SUCCESS;
}

// Keeps the first error of an attempt: for a failed handshake that is OpenSSL's reason.
void MqttSource::OnLog(mosquitto*, void* self_ptr, int level, const char* text) {
  auto* self = static_cast<MqttSource*>(self_ptr);
  if (level != MOSQ_LOG_ERR || text == nullptr || !self->library_error_.empty()) return;
  std::string_view error(text);
  // "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed"
  if (error.rfind("OpenSSL Error[", 0) == 0 && error.find("]: ") != std::string_view::npos) {
    error.remove_prefix(error.find("]: ") + 3);
  }
  self->library_error_ = error;
}

}  // namespace tidegate::agent
