// SPDX-License-Identifier: Apache-2.0
#include "agent/config_semantics.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "agent/agent_runner.h"
#include "agent/config_schemas.h"
#include "common/topic_filter.h"
#include "filters/token_keys.h"
#include "schema/sealed_value.h"
#include "uplink/compression_dictionary.h"

namespace tidegate::agent {
namespace {

// Collects problems; each key's line comes from the loader's key_lines, or from its nearest
// parent there when the key itself was left at its default.
class Problems {
 public:
  explicit Problems(const Config& config) : config_(config) {}

  void Error(const std::string& key, std::string message) {
    Add(key, Severity::kError, std::move(message));
  }
  void Warning(const std::string& key, std::string message) {
    Add(key, Severity::kWarning, std::move(message));
  }
  void ErrorIf(const std::string& key, const Status& status) {
    if (!status.ok()) Error(key, status.message());
  }

  // In line order; problems of one line keep the order they were found in.
  std::vector<ConfigProblem> Take() {
    std::stable_sort(
        list_.begin(), list_.end(),
        [](const ConfigProblem& a, const ConfigProblem& b) { return a.line < b.line; });
    return std::move(list_);
  }

 private:
  void Add(const std::string& key, Severity severity, std::string message) {
    list_.push_back(ConfigProblem{
        .line = LineOf(key), .key = key, .severity = severity, .message = std::move(message)});
  }

  int LineOf(std::string key) const {
    while (!key.empty()) {
      auto it = config_.key_lines.find(key);
      if (it != config_.key_lines.end()) return it->second;
      size_t cut = key.find_last_of(".[");
      key.resize(cut == std::string::npos ? 0 : cut);
    }
    return 0;
  }

  const Config& config_;
  std::vector<ConfigProblem> list_;
};

std::string Indexed(const std::string& list, size_t i, const std::string& key) {
  return list + "[" + std::to_string(i) + "]." + key;
}

// The CA and certificate must be readable; the client key also private (mode 0600).
void CheckTlsFiles(Problems& problems, const std::string& section, const TlsSection& tls) {
  if (!tls.ca_file.empty()) {
    problems.ErrorIf(section + ".ca_file", filters::CheckReadableFile(tls.ca_file));
  }
  if (!tls.cert_file.empty()) {
    problems.ErrorIf(section + ".cert_file", filters::CheckReadableFile(tls.cert_file));
  }
  if (tls.key_file.empty()) return;
  Status readable = filters::CheckReadableFile(tls.key_file);
  problems.ErrorIf(section + ".key_file",
                   readable.ok() ? filters::CheckPrivateFileMode(tls.key_file) : readable);
}

// Loads the privacy keys the way `run` does, so every refusal of `run` shows here.
void CheckPrivacyFiles(Problems& problems, const PrivacySection& privacy) {
  if (!privacy.key_file.empty()) {
    problems.ErrorIf("privacy.key_file", filters::TokenKeySet::Load(privacy.key_file).status());
  }
  if (privacy.recipient_public_key.empty()) return;
  Result<std::string> text = filters::ReadSmallFile(privacy.recipient_public_key);
  if (!text.ok()) {
    problems.Error("privacy.recipient_public_key", text.status().message());
    return;
  }
  Result<schema::PublicKey> key = schema::ParsePublicKeyHex(*text);
  if (!key.ok()) {
    problems.Error("privacy.recipient_public_key",
                   privacy.recipient_public_key + ": " + key.status().message());
  }
}

// Loads the dictionary the way `run` does (size bound, dictionary format, entropy tables).
void CheckDictionaryFile(Problems& problems, const UplinkSection& uplink) {
  if (uplink.compression_dictionary.empty()) return;
  problems.ErrorIf(
      "uplink.compression.dictionary",
      uplink::CompressionDictionary::Load(uplink.compression_dictionary, uplink.compression_level)
          .status());
}

// A password in a file others can read is no secret.
void CheckConfigFileMode(Problems& problems, const Config& config) {
  if (config.mqtt.password.empty() || !config.mqtt.password_file.empty()) return;
  struct stat st {};
  if (::stat(config.source_file.c_str(), &st) != 0 || (st.st_mode & 0044) == 0) return;
  const std::string& file = config.source_file;
  problems.Error("source.mqtt.credentials.password",
                 fmt::format("{} has mode {:04o} and holds this password: it must not be "
                             "readable by group or others (chmod 600 {}, or put the password "
                             "in a mode 0600 file named by source.mqtt.credentials.password_file)",
                             file, st.st_mode & 07777, file));
}

// True if some topic of a subscription can match `match`.
bool ReachesSubscription(const Config& config, const std::string& match) {
  return std::any_of(config.mqtt.topics.begin(), config.mqtt.topics.end(),
                     [&match](const TopicSpec& topic) {
                       return TopicFiltersOverlap(SubscribedTopicFilter(topic.filter), match);
                     });
}

std::string NoSubscribedTopic(const Config& config, const std::string& match) {
  std::string filters;
  for (const TopicSpec& topic : config.mqtt.topics) {
    filters += (filters.empty() ? "" : ", ") + topic.filter;
  }
  return "'" + match + "' matches no subscribed topic (source.mqtt.topics: " + filters + ")";
}

void WarnFilterMistakes(Problems& problems, const std::string& key, const std::string& filter) {
  for (std::string& mistake : TopicFilterMistakes(filter)) {
    problems.Warning(key, std::move(mistake));
  }
}

// A privacy rule that matches nothing leaves the personal data it names raw: an error. An
// aggregation that matches nothing only computes nothing: a warning.
void CheckTopics(Problems& problems, const Config& config) {
  for (size_t i = 0; i < config.mqtt.topics.size(); ++i) {
    WarnFilterMistakes(problems, Indexed("source.mqtt.topics", i, "filter"),
                       config.mqtt.topics[i].filter);
  }
  for (size_t i = 0; i < config.privacy.rules.size(); ++i) {
    const std::string key = Indexed("privacy.rules", i, "match");
    const std::string& match = config.privacy.rules[i].match;
    WarnFilterMistakes(problems, key, match);
    if (!ReachesSubscription(config, match)) problems.Error(key, NoSubscribedTopic(config, match));
  }
  for (size_t i = 0; i < config.aggregates.size(); ++i) {
    const std::string key = Indexed("aggregate", i, "match");
    const std::string& match = config.aggregates[i].match;
    WarnFilterMistakes(problems, key, match);
    if (!ReachesSubscription(config, match)) {
      problems.Warning(key, NoSubscribedTopic(config, match));
    }
  }
}

// A device id read from a topic level no subscribed topic has: every event of that
// subscription is dropped as missing_device_id.
// The channel's own needs: OpAMP polls an http(s) url; MQTT rides the uplink's connection.
void CheckRemoteChannel(Problems& problems, const Config& config) {
  const RemoteConfigSection& remote = config.remote_config;
  if (!remote.enabled) return;
  if (remote.channel == RemoteChannel::kOpamp && remote.url.rfind("http://", 0) != 0 &&
      remote.url.rfind("https://", 0) != 0) {
    problems.Error("remote_config.url",
                   "channel opamp needs the OpAMP server's http:// or https:// url");
  }
  if (remote.channel == RemoteChannel::kMqtt && config.uplink.transport != Transport::kMqtt) {
    problems.Error("remote_config.channel",
                   "channel mqtt rides the uplink's MQTT connection: it needs uplink.transport "
                   "mqtt");
  }
}

void CheckDeviceIdLevel(Problems& problems, const Config& config) {
  if (!config.events.device_id_topic_level) return;
  const auto level = static_cast<size_t>(*config.events.device_id_topic_level);
  for (const TopicSpec& topic : config.mqtt.topics) {
    if (TopicFilterCanHaveLevel(SubscribedTopicFilter(topic.filter), level)) continue;
    problems.Warning("events.device_id.from_topic",
                     fmt::format("no topic of '{}' has a non-empty level {} (0-based): its events "
                                 "would all be dropped as missing_device_id",
                                 topic.filter, level));
  }
}

}  // namespace

std::string ConfigProblem::ToString(std::string_view file) const {
  std::string out(file);
  out += ":";
  if (line > 0) out += std::to_string(line) + ":";
  if (!key.empty()) out += " " + key + ":";
  if (severity == Severity::kWarning) out += " warning:";
  return out + " " + message;
}

std::vector<ConfigProblem> CheckConfigSemantics(const Config& config,
                                                const SemanticsOptions& options) {
  Problems problems(config);
  if (options.check_files) {
    CheckConfigFileMode(problems, config);
    if (config.mqtt.tls) CheckTlsFiles(problems, "source.mqtt.tls", *config.mqtt.tls);
    CheckTlsFiles(problems, "uplink.tls", config.uplink.tls);
    CheckPrivacyFiles(problems, config.privacy);
    CheckDictionaryFile(problems, config.uplink);
  }
  CheckTopics(problems, config);
  CheckDeviceIdLevel(problems, config);
  CheckRemoteChannel(problems, config);
  for (auto& [key, message] : CheckSchemas(config)) problems.Error(key, std::move(message));
  for (const UnsupportedFeature& feature : UnsupportedFeatures(config)) {
    problems.Error(feature.key, feature.message);
  }
  return problems.Take();
}

bool HasErrors(const std::vector<ConfigProblem>& problems) {
  return std::any_of(problems.begin(), problems.end(),
                     [](const ConfigProblem& p) { return p.severity == Severity::kError; });
}

}  // namespace tidegate::agent
