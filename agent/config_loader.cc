// SPDX-License-Identifier: Apache-2.0
#include "agent/config_loader.h"

#include <fstream>

#include "agent/yaml_limits.h"
#include "agent/yaml_reader.h"
#include "common/log.h"

namespace tidegate::agent {
namespace {

void ReadTls(MapReader& parent, const std::string& key, TlsSection* tls) {
  MapReader r(parent.Child(key), parent.KeyPath(key), parent.errors());
  r.Str("ca_file", &tls->ca_file);
  r.Str("cert_file", &tls->cert_file);
  r.Str("key_file", &tls->key_file);
  r.Finish();
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    parent.errors()->Add(parent.MarkOf(key), parent.KeyPath(key),
                         "cert_file and key_file go together");
  }
}

void ReadAgent(MapReader& root, AgentSection* agent) {
  MapReader r(root.Child("agent"), "agent", root.errors());
  r.Str("id", &agent->id);
  r.Str("state_dir", &agent->state_dir);
  r.Str("log_level", &agent->log_level);
  r.Str("metrics_listen", &agent->metrics_listen);
  r.Finish();
  if (!IsPlainName(agent->id)) root.errors()->Add(r.MarkOf("id"), "agent.id", kPlainNameRule);
  if (agent->state_dir.empty())
    root.errors()->Add(r.MarkOf("state_dir"), "agent.state_dir", "must not be empty");
  if (!IsValidLogLevel(agent->log_level)) {
    root.errors()->Add(r.MarkOf("log_level"), "agent.log_level",
                       "expected trace, debug, info, warn, error or off");
  }
  if (!agent->metrics_listen.empty() && agent->metrics_listen.rfind(':') == std::string::npos) {
    root.errors()->Add(r.MarkOf("metrics_listen"), "agent.metrics_listen", "expected HOST:PORT");
  }
}

void ReadTopics(MapReader& mqtt, MqttSourceSection* out) {
  YAML::Node topics = mqtt.Child("topics");
  if (!topics.IsDefined() || !topics.IsSequence() || topics.size() == 0) {
    mqtt.errors()->Add(mqtt.MarkOf("topics"), "source.mqtt.topics",
                       "expected a non-empty list of {filter, qos, priority}");
    return;
  }
  for (size_t i = 0; i < topics.size(); ++i) {
    MapReader t(topics[i], "source.mqtt.topics[" + std::to_string(i) + "]", mqtt.errors());
    TopicSpec spec;
    t.Str("filter", &spec.filter);
    t.Int("qos", &spec.qos);
    t.Int("priority", &spec.priority);
    t.Finish();
    t.CheckTopicFilter("filter", spec.filter);
    out->topics.push_back(spec);
  }
}

void ReadSource(MapReader& root, MqttSourceSection* mqtt) {
  MapReader source(root.Child("source"), "source", root.errors());
  MapReader r(source.Child("mqtt"), "source.mqtt", root.errors());
  source.Finish();
  r.Str("host", &mqtt->host);
  r.Int("port", &mqtt->port);
  r.Str("client_id", &mqtt->client_id);
  MapReader creds(r.Child("credentials"), "source.mqtt.credentials", root.errors());
  creds.Str("username", &mqtt->username);
  creds.Str("password", &mqtt->password);
  creds.Finish();
  if (r.Has("tls")) ReadTls(r, "tls", &mqtt->tls.emplace());
  ReadTopics(r, mqtt);
  r.Size("max_payload_bytes", &mqtt->max_payload_bytes);
  r.Duration("keepalive", &mqtt->keepalive);
  r.Finish();
  if (mqtt->client_id.empty() || mqtt->client_id.size() > 23 * 10) {
    root.errors()->Add(r.MarkOf("client_id"), "source.mqtt.client_id", "must not be empty");
  }
}

void ReadEvents(MapReader& root, EventsSection* events) {
  MapReader r(root.Child("events"), "events", root.errors());
  int format = 0;
  r.Enum("format", {"json"}, &format);
  MapReader device(r.Child("device_id"), "events.device_id", root.errors());
  if (device.Has("from_topic") && device.Has("field")) {
    root.errors()->Add(r.MarkOf("device_id"), "events.device_id",
                       "use from_topic or field, not both");
  }
  if (device.Has("from_topic")) {
    int level = 0;
    device.Int("from_topic", &level);
    events->device_id_topic_level = level;
  }
  device.Str("field", &events->device_id_field);
  device.CheckPointer("field", events->device_id_field);
  device.Finish();
  MapReader time(r.Child("event_time"), "events.event_time", root.errors());
  time.Str("field", &events->event_time_field);
  time.CheckPointer("field", events->event_time_field);
  int time_format = 0;
  time.Enum("format", {"unix_ms", "unix_s", "rfc3339"}, &time_format);
  events->event_time_format = static_cast<TimeFormat>(time_format);
  time.Finish();
  MapReader id(r.Child("id"), "events.id", root.errors());
  id.Str("field", &events->id_field);
  if (!events->id_field.empty()) id.CheckPointer("field", events->id_field);
  id.Finish();
  r.Duration("max_future_skew", &events->max_future_skew);
  r.Finish();
}

}  // namespace

// Defined in config_sections.cc: privacy, dedup, aggregate, buffer, uplink, remote_config.
void ReadPrivacy(MapReader& root, PrivacySection* privacy);
void ReadAggregates(MapReader& root, std::vector<AggregateSpec>* aggregates);
void ReadDedup(MapReader& root, DedupSection* dedup);
void ReadBuffer(MapReader& root, BufferSection* buffer);
void ReadUplink(MapReader& root, UplinkSection* uplink);
void ReadRemoteConfig(MapReader& root, RemoteConfigSection* remote);

Result<Config> ParseConfig(std::string_view yaml_text, const std::string& source_name) {
  ConfigErrors errors{.file = source_name, .lines = {}, .key_lines = {}};
  TG_RETURN_IF_ERROR(CheckYamlLimits(yaml_text, source_name));
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "", "YAML syntax error: " + e.msg);
    return InvalidArgument(errors.lines.front());
  }
  Config config;
  config.source_file = source_name;
  try {
    MapReader root(doc, "", &errors);
    if (!doc.IsDefined() || doc.IsNull()) errors.Add(doc.Mark(), "", "the config is empty");
    ReadAgent(root, &config.agent);
    ReadSource(root, &config.mqtt);
    ReadEvents(root, &config.events);
    ReadPrivacy(root, &config.privacy);
    ReadAggregates(root, &config.aggregates);
    ReadDedup(root, &config.dedup);
    ReadBuffer(root, &config.buffer);
    ReadUplink(root, &config.uplink);
    ReadRemoteConfig(root, &config.remote_config);
    root.Finish();
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "", "unexpected YAML structure: " + e.msg);
  }
  if (!errors.lines.empty()) {
    std::string all;
    for (const auto& line : errors.lines) all += (all.empty() ? "" : "\n") + line;
    return InvalidArgument(all);
  }
  config.key_lines = std::move(errors.key_lines);
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read config file " + path);
  // At most one byte past the limit: a huge file (or an endless device) is refused without
  // being read whole.
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return IOError("error reading config file " + path);
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseConfig(text, path);
}

}  // namespace tidegate::agent
