// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/opamp_client.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/thread_name.h"
#include "remote/opamp/https_poster.h"
#include "remote/opamp/instance_uid.h"
#include "remote/opamp/opamp.pb.h"
#include "remote/opamp/state_file.h"

namespace tidegate::remote::opamp {
namespace {

constexpr size_t kMaxStatusFileBytes = 4096;

std::string EncodeReport(const RemoteConfigReport& report) {
  ::opamp::proto::RemoteConfigStatus s;
  s.set_last_remote_config_hash(report.hash);
  s.set_status(static_cast<::opamp::proto::RemoteConfigStatuses>(report.state));
  s.set_error_message(report.error);
  return s.SerializeAsString();
}

Result<RemoteConfigReport> DecodeReport(const std::string& bytes, const std::string& path) {
  ::opamp::proto::RemoteConfigStatus s;
  if (!s.ParseFromString(bytes) || s.status() < 0 || s.status() > 3) {
    return Corruption(path + " does not hold a RemoteConfigStatus");
  }
  return RemoteConfigReport{.hash = s.last_remote_config_hash(),
                            .state = static_cast<RemoteConfigReport::State>(s.status()),
                            .error = s.error_message()};
}

}  // namespace

Result<std::unique_ptr<OpampClient>> OpampClient::Create(OpampClientSettings settings,
                                                         BundleHandler handler,
                                                         EffectiveConfigSource effective_config,
                                                         HealthSource health, Clock& clock,
                                                         std::unique_ptr<HttpPoster> poster) {
  if (!settings.url.starts_with("http://") && !settings.url.starts_with("https://")) {
    return InvalidArgument("remote_config.url must start with http:// or https:// for OpAMP");
  }
  if (!handler) return InvalidArgument("OpampClient needs a BundleHandler");
  TG_ASSIGN_OR_RETURN(std::string uid, LoadOrCreateInstanceUid(settings.state_dir, clock));
  const std::string status_path = settings.state_dir + "/" + kRemoteConfigStatusFile;
  TG_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                      ReadStateFile(status_path, kMaxStatusFileBytes));
  if (!poster) {
    TG_ASSIGN_OR_RETURN(poster,
                        NewHttpsPoster({.url = settings.url,
                                        .tls = settings.tls,
                                        .connect_timeout = settings.connect_timeout,
                                        .request_timeout = settings.request_timeout,
                                        .max_response_bytes = settings.max_response_bytes}));
  }
  auto session = std::make_unique<OpampSession>(
      SessionOptions{.instance_uid = uid,
                     .agent_id = settings.agent_id,
                     .agent_version = TIDEGATE_VERSION,
                     .start_time_unix_ms = clock.NowUnixMs(),
                     .max_response_bytes = settings.max_response_bytes,
                     .max_bundle_bytes = settings.max_bundle_bytes},
      std::move(handler), std::move(effective_config), std::move(health));
  if (stored) {
    TG_ASSIGN_OR_RETURN(RemoteConfigReport report, DecodeReport(*stored, status_path));
    session->RestoreRemoteConfigReport(std::move(report));
  }
  return std::unique_ptr<OpampClient>(
      new OpampClient(std::move(settings), std::move(session), std::move(poster), uid));
}

OpampClient::OpampClient(OpampClientSettings settings, std::unique_ptr<OpampSession> session,
                         std::unique_ptr<HttpPoster> poster, const std::string& instance_uid)
    : settings_(std::move(settings)),
      session_(std::move(session)),
      poster_(std::move(poster)),
      backoff_(settings_.backoff_initial, settings_.backoff_max) {
  snapshot_.instance_uid_hex = HexOf(instance_uid);
  snapshot_.remote_config = session_->remote_config_report();
}

OpampClient::~OpampClient() { Stop(); }

void OpampClient::Start() {
  thread_ = std::thread([this] {
    NameThisThread("tg-opamp");
    Run();
  });
}

void OpampClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  poster_->Interrupt();
  if (thread_.joinable()) thread_.join();
}

OpampClientSnapshot OpampClient::Snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

Status OpampClient::PollOnce() {
  bool handled = false;
  return Exchange(&handled);
}

void OpampClient::ReportLaterOutcome(ApplyOutcome outcome) {
  {
    std::lock_guard lock(mu_);
    later_outcome_ = std::move(outcome);
  }
  wake_.notify_all();
}

Status OpampClient::Exchange(bool* handled_bundle) {
  const RemoteConfigReport before = session_->remote_config_report();
  std::optional<ApplyOutcome> later;
  {
    std::lock_guard lock(mu_);
    later.swap(later_outcome_);
  }
  if (later) session_->ReportLaterOutcome(*later);
  std::string request = session_->BuildRequest();
  Result<PostReply> reply = poster_->Post(request);
  Status status;
  if (!reply.ok()) {
    status = reply.status();
  } else if (reply->http_status < 200 || reply->http_status >= 300) {
    status = Unavailable("the OpAMP server answered HTTP " + std::to_string(reply->http_status));
  } else {
    Result<ResponseOutcome> outcome = session_->HandleResponse(reply->body);
    if (!outcome.ok()) {
      status = outcome.status();
    } else if (outcome->server_error) {
      status = Unavailable("the OpAMP server refused the report: " + *outcome->server_error);
    } else {
      *handled_bundle = outcome->bundle_handled;
    }
  }
  if (!status.ok()) session_->RequestFailed();
  const RemoteConfigReport& after = session_->remote_config_report();
  if (after != before) {
    Status saved =
        WriteStateFile(settings_.state_dir + "/" + kRemoteConfigStatusFile, EncodeReport(after));
    if (!saved.ok())
      spdlog::warn("opamp: cannot persist the remote config status: {}", saved.message());
  }
  std::lock_guard lock(mu_);
  snapshot_.sequence_num = session_->sequence_num();
  snapshot_.remote_config = after;
  snapshot_.connected = status.ok();
  if (*handled_bundle) ++snapshot_.bundles_handled;
  if (status.ok()) {
    ++snapshot_.exchanges_ok;
  } else {
    ++snapshot_.exchanges_failed;
    snapshot_.last_error = status.message();
  }
  return status;
}

void OpampClient::Run() {
  Rng rng(RandomSeed());
  FailureLogLimiter log_limiter(20);
  uint64_t failures = 0;
  for (;;) {
    bool handled = false;
    Status status = Exchange(&handled);
    std::chrono::milliseconds wait = settings_.poll_interval;
    if (status.ok()) {
      if (failures > 0) spdlog::info("opamp: server reachable again after {} failures", failures);
      failures = 0;
      backoff_.Reset();
      log_limiter.Reset();
      // Report the outcome of a bundle at once rather than a poll interval later.
      if (handled) wait = std::chrono::milliseconds(0);
    } else {
      ++failures;
      bool stopping = false;
      {
        std::lock_guard lock(mu_);
        stopping = stop_;
      }
      if (stopping) return;  // Stop() interrupted this exchange: not a failure worth a line
      if (log_limiter.ShouldLog(status.message(), failures)) {
        spdlog::warn("opamp: exchange with the server failed (attempt {}): {}", failures,
                     status.message());
      }
      wait = std::min(backoff_.NextJitteredDelay(rng), settings_.backoff_max);
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, wait, [this] { return stop_ || later_outcome_.has_value(); });
    if (stop_) return;
  }
}

}  // namespace tidegate::remote::opamp
