// SPDX-License-Identifier: Apache-2.0
// The agent's configuration as plain values, one struct per top-level YAML section.
// agent/config_loader.cc fills it strictly from YAML; each stage takes the section it needs.
// Defaults here are the defaults agent/config_key_table.cc documents (a test compares them).
// Immutable after load; safe to share.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tidegate {

using Millis = std::chrono::milliseconds;

struct AgentSection {
  std::string id = "gateway-1";                   // names this agent in every batch and batch id
  std::string state_dir = "/var/lib/tidegate";    // holds buffer.db and its WAL
  std::string log_level = "info";                 // trace, debug, info, warn, error
  std::string log_format = "logfmt";              // logfmt or json (stderr); run --log-format wins
  std::string metrics_listen = "127.0.0.1:9464";  // Prometheus /metrics and /healthz; "" = off

  bool operator==(const AgentSection&) const = default;
};

struct TlsSection {
  std::string ca_file;    // verify the peer against this CA bundle; "" = system store
  std::string cert_file;  // client certificate, optional
  std::string key_file;   // client key, optional (mode 0600)

  bool operator==(const TlsSection&) const = default;
};

struct TopicSpec {
  std::string filter;  // MQTT topic filter, e.g. "devices/+/telemetry"
  int qos = 1;         // 0 or 1 (2 is accepted and behaves as 1 for loss purposes)
  int priority = 5;    // 0-9, higher uploads first and is dropped last

  bool operator==(const TopicSpec&) const = default;
};

struct MqttSourceSection {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id = "tidegate";  // fixed, so the broker keeps our persistent session
  std::string username;
  std::string password;       // inline, or read from password_file when the file is loaded
  std::string password_file;  // file holding the password (mode 0600 or stricter)
  std::optional<TlsSection> tls;
  std::vector<TopicSpec> topics;
  uint64_t max_payload_bytes = uint64_t{64} * 1024;  // larger payloads are dead-lettered
  Millis keepalive{30'000};

  bool operator==(const MqttSourceSection&) const = default;
};

enum class TimeFormat { kUnixMs, kUnixS, kRfc3339 };

struct EventsSection {
  // device_id comes from topic level N (0-based) when set, else from the JSON field.
  std::optional<int> device_id_topic_level;
  std::string device_id_field = "/device_id";
  std::string event_time_field = "/ts";
  TimeFormat event_time_format = TimeFormat::kUnixMs;
  std::string id_field;                // JSON Pointer of an event id for dedup; "" = content hash
  Millis max_future_skew{5 * 60'000};  // event times further ahead are not trusted

  bool operator==(const EventsSection&) const = default;
};

enum class MaskKind { kIpv4Prefix24, kIpv6Prefix48, kKeepLast4, kYearOnly };

struct PrivacyRule {
  std::string match = "#";                                  // MQTT topic filter the rule applies to
  std::vector<std::string> tokenize, encrypt, drop, scrub;  // JSON Pointers
  std::map<std::string, MaskKind> mask;                     // JSON Pointer -> kind

  bool operator==(const PrivacyRule&) const = default;
};

struct PrivacySection {
  std::string key_file;                  // token keys (mode 0600); required when rules tokenize
  std::string recipient_public_key;      // file with the X25519 public key; required for encrypt
  Millis key_epoch_duration{3'600'000};  // a new data key after this long...
  uint64_t key_epoch_max_values = 1'000'000;  // ...or after this many encrypted values
  std::vector<PrivacyRule> rules;

  bool operator==(const PrivacySection&) const = default;
};

struct DedupSection {
  Millis window{10 * 60'000};  // a repeat within this window is a duplicate; 0 = off

  bool operator==(const DedupSection&) const = default;
};

enum class WindowKind { kTumbling, kHopping };
enum class LatePolicy { kUpdate, kDrop, kSideOutput };

struct AggregateSpec {
  std::string name;
  std::string match = "#";
  std::vector<std::string> group_by;  // "device_id" or JSON Pointers
  WindowKind window_kind = WindowKind::kTumbling;
  Millis window_size{60'000};
  Millis window_slide{60'000};                                             // == size for tumbling
  std::vector<std::pair<std::string, std::vector<std::string>>> measures;  // field -> stats
  Millis max_out_of_order{5'000};
  Millis idle_timeout{60'000};
  Millis allowed_lateness{0};
  LatePolicy late_events = LatePolicy::kUpdate;
  bool forward_raw = true;

  bool operator==(const AggregateSpec&) const = default;
};

// Payload schemas (`schemas[]`, filters/payload_schema.h compiles them).
enum class FieldType { kNumber, kInteger, kString, kBoolean, kTimestamp };
enum class OtherFields { kKeep, kDrop, kReject };

struct SchemaFieldSpec {
  std::string path;  // JSON Pointer
  FieldType type = FieldType::kString;
  bool required = false;
  std::optional<double> min, max;        // number and integer only
  std::optional<uint64_t> max_length;    // string only, in code points
  std::vector<std::string> enum_values;  // as written; parsed per type by the compiler

  bool operator==(const SchemaFieldSpec&) const = default;
};

struct SchemaSpec {
  std::string name;  // [a-z0-9_], 1-63 characters (a PostgreSQL table name later)
  int64_t version = 1;
  std::string match = "#";
  std::vector<SchemaFieldSpec> fields;  // in the order written
  OtherFields other_fields = OtherFields::kKeep;

  bool operator==(const SchemaSpec&) const = default;
};

enum class WhenFull { kDropOldest, kBlock };
enum class SyncMode { kNormal, kFull };

struct BufferSection {
  uint64_t max_bytes = 256ull << 20;  // database + WAL on disk, plus a small overhead
  uint64_t max_events = 0;            // 0 = no count limit
  Millis max_age{0};                  // unsent events older than this are deleted; 0 = keep
  WhenFull when_full = WhenFull::kDropOldest;
  SyncMode sync = SyncMode::kNormal;  // full: fsync each commit, survives power loss
  Millis commit_interval{50};         // group commit period; 0 = commit before the ack returns
  Millis state_ttl{24 * 3'600'000};   // window state idle longer than this is evicted
  // Memory budget of all aggregations' per-key state (windows, devices, groups, sketches),
  // estimated. Past it, events for new keys are not aggregated but forwarded raw and counted
  // (filters/aggregator.h). Larger keeps more distinct keys aggregated; smaller bounds RSS
  // tighter against a publisher inventing device ids. 64KiB to 64GiB.
  uint64_t state_max_bytes = 16ull << 20;

  bool operator==(const BufferSection&) const = default;
};

enum class Transport { kHttps, kMqtt };

struct UplinkSection {
  Transport transport = Transport::kHttps;
  std::string url;  // https://host:port/v1/batches, or mqtts://host:port for transport mqtt
  TlsSection tls;
  uint64_t batch_max_events = 1000;
  uint64_t batch_max_bytes = 1 << 20;  // uncompressed FlatBuffer size cap
  Millis batch_linger{200};            // wait this long for a fuller batch
  int compression_level = 1;           // zstd level
  std::string compression_dictionary;  // optional zstd dictionary file
  Millis retry_initial{500};
  Millis retry_max{30'000};
  Millis connect_timeout{5'000};
  Millis request_timeout{30'000};
  uint64_t max_bytes_per_second = 0;  // 0 = unlimited
  // transport mqtt only (uplink.mqtt.*).
  std::string mqtt_client_id;  // "" = agent.id (the loader fills it in)
  Millis mqtt_keepalive{60'000};
  // Batches published and not yet acknowledged by a collector. More keeps a long link busy;
  // each costs up to batch.max_bytes of memory and resends after a collector vanishes.
  uint64_t mqtt_max_inflight = 4;
  // A batch unacknowledged this long is published again (same id, same bytes). Shorter
  // recovers sooner from a vanished collector; too short republishes batches still landing.
  Millis mqtt_ack_timeout{30'000};

  bool operator==(const UplinkSection&) const = default;
};

enum class RemoteChannel { kOpamp, kMqtt };

struct RemoteConfigSection {
  bool enabled = false;
  // opamp: poll url; mqtt: the retained topic tidegate/<agent.id>/config on the uplink broker.
  RemoteChannel channel = RemoteChannel::kOpamp;
  std::string url;
  Millis poll_interval{60'000};
  // Ed25519 public key file bundles must be signed with.
  std::string signing_public_key;
  // The one other key file a bundle may switch signing_public_key to (key rotation); "" = none.
  std::string next_signing_public_key;
  // An applied config that leaves the uplink failing this long is rolled back. Default 5m.
  Millis rollback_after{300'000};

  bool operator==(const RemoteConfigSection&) const = default;
};

struct Config {
  std::string source_file;  // where it was loaded from, for messages
  // The 1-based line of each key in source_file by dotted path ("privacy.rules[0].match"),
  // for messages of checks made after loading (agent/config_semantics.h).
  std::map<std::string, int> key_lines;
  AgentSection agent;
  MqttSourceSection mqtt;
  EventsSection events;
  PrivacySection privacy;
  DedupSection dedup;
  std::vector<SchemaSpec> schemas;
  std::vector<AggregateSpec> aggregates;
  BufferSection buffer;
  UplinkSection uplink;
  RemoteConfigSection remote_config;

  // The same settings; where they were written (source_file, key_lines) does not count.
  bool operator==(const Config& other) const {
    return agent == other.agent && mqtt == other.mqtt && events == other.events &&
           privacy == other.privacy && dedup == other.dedup && schemas == other.schemas &&
           aggregates == other.aggregates && buffer == other.buffer && uplink == other.uplink &&
           remote_config == other.remote_config;
  }
};

}  // namespace tidegate
