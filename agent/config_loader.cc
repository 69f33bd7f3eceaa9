// SPDX-License-Identifier: Apache-2.0
#include "agent/config_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include "agent/config_schemas.h"
#include "agent/yaml_limits.h"
#include "agent/yaml_reader.h"

namespace tidegate::agent {
namespace {

constexpr size_t kMaxPasswordBytes = 65535;  // MQTT's limit for a password
constexpr size_t kMaxClientIdBytes = 230;    // ten times MQTT 3.1.1's guaranteed 23

// strerror's text, thread-safe.
std::string ErrnoText(int error) { return std::generic_category().message(error); }

// The 1-based number of the first line up to last_line (1-based) whose indentation holds a
// tab, or 0. yaml-cpp reports those as "illegal map value" and the like.
int TabIndentedLine(std::string_view text, int last_line) {
  int line = 1;
  size_t start = 0;
  while (start < text.size() && line <= last_line) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view row = text.substr(start, end - start);
    const size_t content = row.find_first_not_of(" \t");
    if (row.substr(0, content).find('\t') != std::string_view::npos) return line;
    start = end + 1;
    ++line;
  }
  return 0;
}

// The contents of a secret file: at most max_bytes, a regular file, not readable or writable
// by group or others. The message names the path and the errno text or the mode.
// Closes the descriptor it holds.
struct FileDescriptor {
  explicit FileDescriptor(int descriptor) : fd(descriptor) {}
  int fd;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The contents of a secret file: at most max_bytes, a regular file, not readable or writable
// by group or others. The message names the path and the errno text or the mode.
Result<std::string> ReadPrivateFile(const std::string& path, size_t max_bytes) {
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  struct stat st {};
  if (file.fd < 0 || ::fstat(file.fd, &st) != 0) {
    return InvalidArgument("cannot read " + path + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument(path + " has mode " + ModeText(st.st_mode) +
                           "; it must be 0600 or stricter (chmod 600 " + path + ")");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t got = ::read(file.fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return InvalidArgument("cannot read " + path + ": " + ErrnoText(errno));
    if (got == 0) break;
    text.append(buf, static_cast<size_t>(got));
    if (text.size() > max_bytes) return InvalidArgument(path + " is too large for a password");
  }
  return text;
}

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
  r.Enum("log_level", &agent->log_level);
  r.Enum("log_format", &agent->log_format);
  r.Str("metrics_listen", &agent->metrics_listen);
  r.Finish();
  if (!IsPlainName(agent->id)) root.errors()->Add(r.MarkOf("id"), "agent.id", kPlainNameRule);
  if (agent->state_dir.empty())
    root.errors()->Add(r.MarkOf("state_dir"), "agent.state_dir", "must not be empty");
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

void ReadCredentials(MapReader& mqtt_reader, MqttSourceSection* mqtt) {
  MapReader r(mqtt_reader.Child("credentials"), "source.mqtt.credentials", mqtt_reader.errors());
  r.Str("username", &mqtt->username);
  r.Str("password", &mqtt->password);
  r.Str("password_file", &mqtt->password_file);
  r.Finish();
  if (r.Has("password") && r.Has("password_file")) {
    r.errors()->Add(r.MarkOf("password_file"), r.KeyPath("password_file"),
                    "use password or password_file, not both");
  }
  for (const char* key : {"password", "password_file"}) {
    if (r.Has(key) && mqtt->username.empty()) {
      r.errors()->Add(r.MarkOf(key), r.KeyPath(key), "needs a username");
    }
  }
  if (r.Has("password_file") && mqtt->password_file.empty()) {
    r.errors()->Add(r.MarkOf("password_file"), r.KeyPath("password_file"), "must not be empty");
  }
}

void ReadSource(MapReader& root, MqttSourceSection* mqtt) {
  MapReader source(root.Child("source"), "source", root.errors());
  MapReader r(source.Child("mqtt"), "source.mqtt", root.errors());
  source.Finish();
  r.Str("host", &mqtt->host);
  r.Int("port", &mqtt->port);
  r.Str("client_id", &mqtt->client_id);
  ReadCredentials(r, mqtt);
  if (r.Has("tls")) ReadTls(r, "tls", &mqtt->tls.emplace());
  ReadTopics(r, mqtt);
  r.Size("max_payload_bytes", &mqtt->max_payload_bytes);
  r.Duration("keepalive", &mqtt->keepalive);
  r.Finish();
  if (mqtt->client_id.empty()) {
    root.errors()->Add(r.MarkOf("client_id"), "source.mqtt.client_id", "must not be empty");
  } else if (mqtt->client_id.size() > kMaxClientIdBytes) {
    root.errors()->Add(r.MarkOf("client_id"), "source.mqtt.client_id",
                       "must be at most " + std::to_string(kMaxClientIdBytes) + " bytes");
  }
}

void ReadEvents(MapReader& root, EventsSection* events) {
  MapReader r(root.Child("events"), "events", root.errors());
  int format = 0;
  r.Enum("format", &format);
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
  time.Enum("format", &time_format);
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
  ConfigErrors errors{.file = source_name, .errors = {}, .key_lines = {}};
  TG_RETURN_IF_ERROR(CheckYamlLimits(yaml_text, source_name));
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    const int tab_line = TabIndentedLine(yaml_text, e.mark.line + 2);
    if (tab_line > 0) {
      errors.AddAtLine(tab_line, "", "tabs are not allowed for indentation; use spaces");
    } else {
      errors.Add(e.mark, "", "YAML syntax error: " + e.msg);
    }
    return InvalidArgument(errors.Text());
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
    ReadSchemas(root, &config.schemas);
    ReadAggregates(root, &config.aggregates);
    ReadDedup(root, &config.dedup);
    ReadBuffer(root, &config.buffer);
    ReadUplink(root, &config.uplink);
    ReadRemoteConfig(root, &config.remote_config);
    root.Finish();
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "", "unexpected YAML structure: " + e.msg);
  }
  if (!errors.empty()) return InvalidArgument(errors.Text());
  config.key_lines = std::move(errors.key_lines);
  return config;
}

Status ReadPasswordFile(Config* config) {
  std::string& path = config->mqtt.password_file;
  if (path.empty()) return Status::Ok();
  const std::string where = config->source_file + ": source.mqtt.credentials.password_file: ";
  auto text = ReadPrivateFile(path, kMaxPasswordBytes);
  if (!text.ok()) return InvalidArgument(where + text.status().message());
  std::string password = std::move(text).value();
  if (!password.empty() && password.back() == '\n') password.pop_back();
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return InvalidArgument(where + path + " holds no password");
  config->mqtt.password = std::move(password);
  return Status::Ok();
}

Result<Config> LoadConfigFile(const std::string& path) {
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) {
    const int error = errno;
    const std::string message = "cannot read config file " + path + ": " + ErrnoText(error);
    return error == ENOENT ? NotFound(message) : IOError(message);
  }
  // At most one byte past the limit: a huge file (or an endless device) is refused without
  // being read whole.
  std::string text(kMaxConfigBytes + 1, '\0');
  const size_t got = std::fread(text.data(), 1, text.size(), in.get());
  if (std::ferror(in.get()) != 0) {
    return IOError("cannot read config file " + path + ": " + ErrnoText(errno));
  }
  text.resize(got);
  TG_ASSIGN_OR_RETURN(Config config, ParseConfig(text, path));
  TG_RETURN_IF_ERROR(ReadPasswordFile(&config));
  return config;
}

}  // namespace tidegate::agent
