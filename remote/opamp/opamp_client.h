// SPDX-License-Identifier: Apache-2.0
// OpampClient: the agent's OpAMP channel (SPEC "Remote config", remote_config.channel:
// opamp). On its own thread it POSTs an AgentToServer to remote_config.url every
// poll_interval (sooner after a bundle was handled, to report the outcome), hands each new
// tidegate bundle to the BundleHandler and reports the ApplyOutcome as RemoteConfigStatus,
// with the effective config and health. Failures back off (common/reconnect_backoff.h).
// State kept in state_dir: opamp_instance_uid and opamp_remote_config_status (so a restart
// reports the last outcome and does not hand the same bundle over again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "common/reconnect_backoff.h"
#include "common/status.h"
#include "remote/config_channel.h"
#include "remote/opamp/http_poster.h"
#include "remote/opamp/opamp_session.h"

namespace tidegate::remote::opamp {

inline constexpr char kRemoteConfigStatusFile[] = "opamp_remote_config_status";

struct OpampClientSettings {
  std::string url{};                                // remote_config.url
  std::chrono::milliseconds poll_interval{60'000};  // remote_config.poll_interval
  TlsSection tls{};                                 // uplink.tls
  std::string state_dir{};                          // agent.state_dir
  std::string agent_id{};                           // agent.id, reported as service.instance.id
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};
  size_t max_response_bytes = 1 << 20;
  size_t max_bundle_bytes = 256 << 10;
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{300'000};
};

// A copy of the client's state, for metrics and `tidegate status`.
struct OpampClientSnapshot {
  std::string instance_uid_hex{};
  uint64_t sequence_num = 0;
  uint64_t exchanges_ok = 0;
  uint64_t exchanges_failed = 0;
  uint64_t bundles_handled = 0;
  bool connected = false;              // the last exchange succeeded
  std::string last_error{};            // of the last failed exchange (no payload values)
  RemoteConfigReport remote_config{};  // hash as raw bytes
};

class OpampClient {
 public:
  // Reads or creates the instance_uid and the last remote config status in state_dir.
  // `poster` null: an HttpsPoster for settings.url. kInvalidArgument for a url that is not
  // http(s)://, kIOError/kCorruption for the state files.
  static Result<std::unique_ptr<OpampClient>> Create(OpampClientSettings settings,
                                                     BundleHandler handler,
                                                     EffectiveConfigSource effective_config,
                                                     HealthSource health, Clock& clock,
                                                     std::unique_ptr<HttpPoster> poster = nullptr);
  ~OpampClient();  // Stop()s
  OpampClient(const OpampClient&) = delete;
  OpampClient& operator=(const OpampClient&) = delete;

  // Starts the polling thread. REQUIRES: not started.
  void Start();
  // Stops and joins the thread, interrupting an exchange in progress. Idempotent.
  void Stop();

  // One exchange on the calling thread (what the thread does each poll). For tests and for
  // `PollNow`-style callers; REQUIRES: the thread is not running.
  Status PollOnce();

  OpampClientSnapshot Snapshot() const;

  // A later outcome of the last bundle (a rollback, from ConfigApplier's reporter): sent in
  // the next exchange, which starts at once. Callable from any thread.
  void ReportLaterOutcome(ApplyOutcome outcome);

 private:
  OpampClient(OpampClientSettings settings, std::unique_ptr<OpampSession> session,
              std::unique_ptr<HttpPoster> poster, const std::string& instance_uid);
  void Run();
  Status Exchange(bool* handled_bundle);

  const OpampClientSettings settings_;
  std::unique_ptr<OpampSession> session_;
  std::unique_ptr<HttpPoster> poster_;
  ReconnectBackoff backoff_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::optional<ApplyOutcome> later_outcome_;  // guarded by mu_; taken by the next exchange
  OpampClientSnapshot snapshot_;               // guarded by mu_
  std::thread thread_;
};

}  // namespace tidegate::remote::opamp
