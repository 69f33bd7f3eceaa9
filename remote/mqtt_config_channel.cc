// SPDX-License-Identifier: Apache-2.0
#include "remote/mqtt_config_channel.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/json_escape.h"
#include "common/thread_name.h"

namespace tidegate::remote {
namespace {

const char* StateName(ApplyOutcome::State state) {
  switch (state) {
    case ApplyOutcome::State::kApplied:
      return "applied";
    case ApplyOutcome::State::kFailed:
      return "failed";
    case ApplyOutcome::State::kRolledBack:
      return "rolled_back";
  }
  return "failed";
}

}  // namespace

MqttConfigChannel::MqttConfigChannel(const std::string& agent_id, BundleHandler handler,
                                     Publisher publisher)
    : agent_id_(agent_id),
      topic_("tidegate/" + agent_id + "/config"),
      status_topic_("tidegate/" + agent_id + "/config/status"),
      handler_(std::move(handler)),
      publisher_(std::move(publisher)) {}

MqttConfigChannel::~MqttConfigChannel() { Stop(); }

void MqttConfigChannel::Start() {
  thread_ = std::thread([this] {
    NameThisThread("tg-config-mqtt");
    Run();
  });
}

void MqttConfigChannel::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MqttConfigChannel::OnMessage(std::string_view payload, bool /*retained*/) {
  // An empty retained message is how an operator clears the topic: nothing to apply.
  if (payload.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  stats_.received++;
  if (payload.size() > kMaxMqttBundleBytes) {
    stats_.too_large++;
    ApplyOutcome outcome;
    outcome.reason = "too_large: " + std::to_string(payload.size()) + " bytes, at most " +
                     std::to_string(kMaxMqttBundleBytes);
    status_ = StatusJson(agent_id_, outcome);
    publish_now_ = true;
    bundle_.reset();
  } else {
    bundle_.emplace(payload);  // replaces an older one not handled yet
  }
  cv_.notify_all();
}

void MqttConfigChannel::OnConnected() {
  std::lock_guard<std::mutex> lock(mu_);
  connects_++;
  publish_now_ = true;
  cv_.notify_all();
}

void MqttConfigChannel::Report(const ApplyOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  ApplyOutcome reported = outcome;
  // A later outcome (a rollback) is about the last bundle handled: its hash, in hex.
  if (reported.bundle_hash.empty()) reported.bundle_hash = last_hash_;
  status_ = StatusJson(agent_id_, reported);
  publish_now_ = true;
  cv_.notify_all();
}

MqttConfigChannel::Stats MqttConfigChannel::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void MqttConfigChannel::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || bundle_ || (status_ && publish_now_); });
    if (stopping_) return;
    if (bundle_) {
      std::string bundle = std::move(*bundle_);
      bundle_.reset();
      std::string hash = Sha256Hex(bundle);
      if (hash == last_hash_) {
        stats_.unchanged++;
        continue;
      }
      last_hash_ = hash;
      stats_.handled++;
      lock.unlock();
      ApplyOutcome outcome = handler_(bundle);
      // The status carries the hash in hex (the handler's may be raw bytes, as OpAMP wants).
      outcome.bundle_hash = std::move(hash);
      spdlog::info("remote config (mqtt): bundle version {} {}{}{}", outcome.version,
                   StateName(outcome.state), outcome.reason.empty() ? "" : ": ", outcome.reason);
      lock.lock();
      status_ = StatusJson(agent_id_, outcome);
      publish_now_ = true;
    }
    PublishPendingStatus(lock);
  }
}

// Publishes the newest status outside the lock; keeps it for the next connect if that fails.
void MqttConfigChannel::PublishPendingStatus(std::unique_lock<std::mutex>& lock) {
  if (!status_ || !publish_now_) return;
  std::string status = *status_;
  const uint64_t connects_before = connects_;
  lock.unlock();
  Status published = publisher_(status_topic_, status, /*retain=*/true);
  lock.lock();
  // Failed while disconnected: the next OnConnected asks again (or already did meanwhile).
  publish_now_ = !published.ok() && connects_ != connects_before;
  if (!published.ok()) return;
  stats_.statuses_published++;
  if (status_ && *status_ == status) status_.reset();
}

std::string MqttConfigChannel::StatusJson(const std::string& agent_id,
                                          const ApplyOutcome& outcome) {
  std::string out = "{\"agent_id\":";
  AppendJsonString(&out, agent_id);
  out += R"(,"version":)" + std::to_string(outcome.version) + R"(,"status":")";
  out += StateName(outcome.state);
  out += R"(","reason":)";
  AppendJsonString(&out, outcome.reason);
  out += ",\"bundle_sha256\":";
  AppendJsonString(&out, outcome.bundle_hash);
  out += "}";
  return out;
}

std::string MqttConfigChannel::Sha256Hex(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

}  // namespace tidegate::remote
