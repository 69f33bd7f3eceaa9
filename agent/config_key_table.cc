// SPDX-License-Identifier: Apache-2.0
// The key table's data (see agent/config_keys.h). Why each range: every duration here is
// added to a time somewhere, so none may be absurd; each ceiling is the longest an operator
// could mean, each floor the shortest that does not turn the feature into a busy loop.
#include "agent/config_keys.h"

namespace tidegate::agent {
namespace {

constexpr int64_t kMs = 1;
constexpr int64_t kSecond = 1'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr int64_t kGiB = 1024 * kMiB;
constexpr int64_t kTiB = 1024 * kGiB;
constexpr int64_t kMaxCount = int64_t{1} << 40;

using enum KeyType;

constexpr ConfigKey kKeys[] = {
    Key("agent", kSection)
        .Doc("The agent itself: its name, where it keeps state, logs and metrics."),
    Key("agent.id", kString)
        .Default("gateway-1")
        .Example("gw-berlin-01")
        .Doc("Names this gateway in every batch, batch id and window result: 1-128 letters, "
             "digits, '-', '_' or '.'. Keep it stable and unique: receivers deduplicate "
             "batches by (agent id, batch id)."),
    Key("agent.state_dir", kString)
        .Default("/var/lib/tidegate")
        .Example("/var/lib/tidegate")
        .Doc("Directory of the durable buffer (buffer.db, SQLite in WAL mode) and its lock. "
             "Must be writable by the agent and used by one agent only."),
    Key("agent.log_level", kChoice)
        .Choices("trace, debug, info, warn, error, off")
        .Default("info")
        .Example("info")
        .Doc("Log verbosity (stderr). No level ever logs payload values."),
    Key("agent.log_format", kChoice)
        .Choices("logfmt, json")
        .Default("logfmt")
        .Example("logfmt")
        .Doc("Log records on stderr, one a line: logfmt (ts=... level=info prog=tidegate "
             "msg=\"...\") or JSON lines with the same keys. `tidegate run --log-format` "
             "overrides it. The same warning or error repeated is logged 5 times a minute, "
             "then summarized (msg=\"suppressed repeats\" count=N last=\"...\")."),
    Key("agent.metrics_listen", kString)
        .Default("127.0.0.1:9464")
        .Example("127.0.0.1:9464")
        .Doc("HOST:PORT serving Prometheus /metrics, /healthz (live) and /readyz (ready); \"\" "
             "turns it off. Keep it on loopback unless a firewall guards it: metrics name "
             "topics and aggregations."),

    Key("source", kSection).Required().Doc("Where events come from."),
    Key("source.mqtt", kSection)
        .Required()
        .Doc("The local MQTT broker. The agent keeps a persistent session (clean session off), "
             "so the broker queues for it while it is down or applying backpressure."),
    Key("source.mqtt.host", kString)
        .Default("127.0.0.1")
        .Example("127.0.0.1")
        .Doc("Broker host name or address; normally the gateway's own broker on loopback."),
    Key("source.mqtt.port", kInteger)
        .Range(1, 65535)
        .Default("1883")
        .Example("1883")
        .Doc("Broker TCP port (8883 is the usual port for MQTT over TLS)."),
    Key("source.mqtt.client_id", kString)
        .Default("tidegate")
        .Example("tidegate-gateway-1")
        .Doc("MQTT client id. Keep it fixed and unique on the broker: the persistent session, "
             "and what the broker queued for it, belong to this id."),
    Key("source.mqtt.keepalive", kDuration)
        .Range(5 * kSecond, 65535 * kSecond)  // 16-bit seconds; libmosquitto refuses < 5 s
        .Default("30s")
        .Example("30s")
        .Doc("MQTT keepalive. Shorter notices a dead connection sooner, at the cost of more "
             "pings."),
    // AWS IoT Core caps a payload at 128 KiB and Azure IoT Hub at 256 KiB; the smallest
    // buffer (1 MiB, ~768 KiB of data) still holds a few of the largest.
    Key("source.mqtt.max_payload_bytes", kSize)
        .Range(256, 256 * kKiB)
        .Default("64KiB")
        .Example("64KiB")
        .Doc("Messages larger than this are dead-lettered (counted, never stored). Higher "
             "admits bigger payloads; fewer of them then fit a small buffer."),
    Key("source.mqtt.credentials", kSection)
        .Doc("User name and password for the broker. Prefer password_file: the password then "
             "stays out of the config file, which is often readable by others and copied "
             "around."),
    Key("source.mqtt.credentials.username", kString)
        .Example("tidegate")
        .Doc("Broker user name; none: connect without credentials."),
    Key("source.mqtt.credentials.password", kString)
        .Group("password")
        .Needs("source.mqtt.credentials.username")
        .Example("\"change-me\"")
        .Doc("The broker password, written in the config. Anyone who can read the config can "
             "read it: use password_file instead."),
    Key("source.mqtt.credentials.password_file", kFile)
        .Group("password")
        .Needs("source.mqtt.credentials.username")
        .Example("/etc/tidegate/mqtt.password")
        .Doc("File holding the broker password (the recommended way). It must be mode 0600 or "
             "stricter and is read when the config is loaded (run, config check); one trailing "
             "newline is removed. Not together with password."),
    Key("source.mqtt.tls", kSection)
        .Doc("Connect to the broker over TLS. Absent: plain MQTT, fine on loopback only."),
    Key("source.mqtt.tls.ca_file", kFile)
        .Example("/etc/tidegate/broker-ca.pem")
        .Doc("CA bundle the broker's certificate is verified against; none: the system's CA "
             "store."),
    Key("source.mqtt.tls.cert_file", kFile)
        .Needs("source.mqtt.tls.key_file")
        .Example("/etc/tidegate/client.pem")
        .Doc("Client certificate, for a broker that authenticates clients by certificate."),
    Key("source.mqtt.tls.key_file", kFile)
        .Needs("source.mqtt.tls.cert_file")
        .Example("/etc/tidegate/client.key")
        .Doc("Private key of cert_file; keep it mode 0600."),
    Key("source.mqtt.topics", kSectionList)
        .Required()
        .Doc("The topic filters to subscribe to; at least one."),
    Key("source.mqtt.topics[].filter", kTopicFilter)
        .Required()
        .Example("devices/+/telemetry")
        .Doc("MQTT topic filter: + matches one level, # the rest."),
    Key("source.mqtt.topics[].qos", kInteger)
        .Range(0, 2)
        .Default("1")
        .Example("1")
        .Doc("Subscription QoS. 1: the broker redelivers until the agent has the message; 0 can "
             "lose messages while the agent is down; 2 behaves as 1."),
    Key("source.mqtt.topics[].priority", kInteger)
        .Range(0, 9)
        .Default("5")
        .Example("8")
        .Doc("Higher priorities upload first and are dropped last when the buffer is full."),

    Key("events", kSection)
        .Doc("How a payload becomes an event: a JSON object with a device id, an event time and "
             "optionally an event id."),
    Key("events.format", kChoice)
        .Choices("json")
        .Default("json")
        .Example("json")
        .Doc("Payload format: a JSON object. Anything else is dead-lettered."),
    Key("events.device_id", kSection)
        .Doc("Where the device id comes from: a topic level or a payload field, not both."),
    Key("events.device_id.from_topic", kInteger)
        .Group("device_id")
        .Range(0, 64)
        .Example("1")
        .Doc("The 0-based topic level holding the device id (1 for `devices/<id>/telemetry`). "
             "Harder to spoof than a payload field when the broker's ACLs tie clients to their "
             "topics."),
    Key("events.device_id.field", kPointer)
        .Group("device_id")
        .Default("/device_id")
        .Example("/device_id")
        .Doc("JSON Pointer of the device id in the payload; used unless from_topic is set."),
    Key("events.event_time", kSection).Doc("The time the device says the event happened."),
    Key("events.event_time.field", kPointer)
        .Default("/ts")
        .Example("/ts")
        .Doc("JSON Pointer of the event time; windows and watermarks use it."),
    Key("events.event_time.format", kChoice)
        .Choices("unix_ms, unix_s, rfc3339")
        .Default("unix_ms")
        .Example("unix_ms")
        .Doc("Milliseconds or seconds since 1970 (a number), or RFC 3339 text."),
    Key("events.id", kSection).Doc("The event id ingest dedup uses (see dedup.window)."),
    Key("events.id.field", kPointer)
        .Example("/msg_id")
        .Doc("JSON Pointer of an id the device gives each event: two events of one device with "
             "the same id are duplicates, whatever their content. None (or an event without "
             "it): only the same payload on the same topic, byte for byte, is a duplicate."),
    // 0: any event time ahead of the clock is not aggregated. A week covers a clock that
    // lags badly; further ahead is a broken device.
    Key("events.max_future_skew", kDuration)
        .Range(0, 7 * kDay)
        .Default("5m")
        .Example("5m")
        .Doc("Event times further ahead of the gateway's clock are kept out of windows and move "
             "no watermark (counted); the event itself still lands."),

    Key("privacy", kSection)
        .Doc("Personal data, handled in memory before anything reaches disk. A rule acts on the "
             "exact JSON Pointer paths it names (an object or array with everything inside "
             "it), never elsewhere: see privacy.rules[]."),
    Key("privacy.key_file", kFile)
        .Example("/etc/tidegate/keys/token.keys")
        .Doc("Token keys made by `tidegate keys init` (mode 0600, else the agent refuses to "
             "start); needed when a rule tokenizes or scrubs."),
    Key("privacy.recipient_public_key", kFile)
        .Example("/etc/tidegate/keys/recipient.pub")
        .Doc("The cloud's X25519 public key; needed when a rule encrypts. The gateway cannot "
             "decrypt what it encrypted: only the holder of the matching recipient.key can."),
    // A data key opens at most this much data; past ~106 days the steady clock's
    // nanoseconds would overflow.
    Key("privacy.key_epoch", kDuration)
        .Range(kSecond, 30 * kDay)
        .Default("1h")
        .Example("1h")
        .Doc("A new data key (sealed to the recipient) at least this often. Shorter limits what "
             "one data key opens, at the cost of one more sealed key per epoch in the batches."),
    Key("privacy.key_epoch_max_values", kInteger)
        .Range(1, kMaxCount)
        .Default("1000000")
        .Example("1000000")
        .Doc("...or after this many encrypted values, whichever comes first."),
    Key("privacy.rules", kSectionList)
        .Doc("Each rule applies to the events whose topic matches. Every action is optional, "
             "so a rule may have one alone; a path named by several gets the strongest: drop > "
             "mask > encrypt > tokenize > scrub. Tokenizing /user/email does not touch an "
             "address typed into /note: scrub free-text fields. The root pointer \"\" is "
             "refused: to cover a whole payload, name each top-level field."),
    Key("privacy.rules[].match", kTopicFilter)
        .Default("\"#\"")
        .Example("devices/+/telemetry")
        .Doc("Topic filter of the events the rule applies to; # is every topic."),
    Key("privacy.rules[].tokenize", kPointerList)
        .Needs("privacy.key_file")
        .Default("[]")
        .Example("[/user/email]")
        .Doc("Replace each value with `tok:<key_id>:<hash>`, a keyed hash: equal values give equal "
             "tokens, so the cloud can count and join without seeing them. Values with few "
             "possibilities (a PIN) can be guessed by whoever holds the key."),
    Key("privacy.rules[].encrypt", kPointerList)
        .Needs("privacy.recipient_public_key")
        .Default("[]")
        .Example("[/user/phone]")
        .Doc("Encrypt each value to the recipient key: the cloud can read it back, but equal "
             "values do not look equal, so nothing can be joined on them before decryption."),
    Key("privacy.rules[].mask", kSection)
        .Doc("Keep a safe part of each value; a value that does not fit its mask is dropped, "
             "never passed on raw."),
    Key("privacy.rules[].mask.<pointer>", kChoice)
        .Choices("ipv4_prefix_24, ipv6_prefix_48, keep_last_4, year_only")
        .ExampleKey("/ip")
        .Example("ipv4_prefix_24")
        .Doc("A field's JSON Pointer and its mask: the /24 network of an IPv4 address, the /48 "
             "of an IPv6 address, the last 4 characters, or the year of a date."),
    Key("privacy.rules[].drop", kPointerList)
        .Default("[]")
        .Example("[/user/ssn]")
        .Doc("Remove the field or array element: nothing of it is kept."),
    Key("privacy.rules[].scrub", kPointerList)
        .Needs("privacy.key_file")
        .Default("[]")
        .Example("[/note]")
        .Doc("Tokenize each email, phone number, IPv4/IPv6 address and card-like number found "
             "inside the text; on an object or array, inside every string in it. Patterns can "
             "miss unusual formats: drop or tokenize fields that are personal as a whole."),

    Key("dedup", kSection).Doc("Ingest dedup of redelivered and resent events."),
    // QoS 1 redelivery comes within minutes; a week covers a device resending after a long
    // outage (the index is capped at 1M keys anyway).
    Key("dedup.window", kDuration)
        .Range(0, 7 * kDay)
        .Default("10m")
        .Example("10m")
        .Doc("A repeat (see events.id) within this window is dropped and counted. Longer "
             "catches later resends at ~40 bytes of memory per event in the window (at most 1M "
             "keys); 0 turns dedup off."),

    Key("schemas", kSectionList)
        .Doc("Typed, versioned payload schemas (docs/schemas.md). An event whose topic has a "
             "schema is validated after parsing and before the privacy filter; a violation is "
             "dead-lettered (reason schema_violation, with schema, path and rule, never the "
             "value) and counted. At most 64 entries."),
    Key("schemas[].name", kString)
        .Required()
        .Example("thermo")
        .Doc("The schema's name: 1-63 characters of a-z, 0-9 and '_' (it names a table in the "
             "receiving database). Versions of one name describe one evolving payload."),
    Key("schemas[].version", kInteger)
        .Range(1, 1'000'000)
        .Default("1")
        .Example("1")
        .Doc("A newer version may only add optional fields or widen integer to number; any "
             "other change needs a new name. A topic uses the highest version whose match "
             "fits it."),
    Key("schemas[].match", kTopicFilter)
        .Default("\"#\"")
        .Example("devices/+/telemetry")
        .Doc("Topic filter of the events the schema applies to. Two schemas at the same "
             "version must not both match any one topic."),
    Key("schemas[].other_fields", kChoice)
        .Choices("keep, drop, reject")
        .Default("keep")
        .Example("keep")
        .Doc("A top-level field that no declared path starts with: kept, removed from the "
             "payload, or a violation (rule other_fields)."),
    Key("schemas[].fields", kSection)
        .Doc("Declared fields by JSON Pointer; at most 256. A path may not lie inside another "
             "declared path."),
    Key("schemas[].fields.<pointer>", kSection)
        .ExampleKey("/temperature")
        .Doc("One declared field and its rules."),
    Key("schemas[].fields.<pointer>.type", kChoice)
        .Choices("number, integer, string, boolean, timestamp")
        .Required()
        .ExampleKey("/temperature")
        .Example("number")
        .Doc("number: any JSON number; integer: a JSON integer literal (no fraction or "
             "exponent) within 64 bits; string; boolean; timestamp: RFC 3339 text or integer "
             "unix milliseconds, years 0000-9999. null is no type's value."),
    Key("schemas[].fields.<pointer>.required", kBool)
        .Default("false")
        .ExampleKey("/temperature")
        .Example("true")
        .Doc("An event without the field is a violation (rule required). An optional field "
             "may be absent, but if present it must follow the rules."),
    Key("schemas[].fields.<pointer>.min", kNumber)
        .ExampleKey("/temperature")
        .Example("-40")
        .Doc("Smallest allowed value (number and integer only)."),
    Key("schemas[].fields.<pointer>.max", kNumber)
        .ExampleKey("/temperature")
        .Example("85")
        .Doc("Largest allowed value (number and integer only); not below min."),
    Key("schemas[].fields.<pointer>.max_length", kInteger)
        .Range(0, 1 << 20)
        .ExampleKey("/temperature")
        .Example("64")
        .Doc("Longest allowed string in Unicode code points, not bytes (string only)."),
    Key("schemas[].fields.<pointer>.enum", kStringList)
        .Default("[]")
        .ExampleKey("/temperature")
        .Example("[20, 21, 22]")
        .Doc("The allowed values, of the field's type (string, integer or number); at most "
             "256. [] allows any."),

    Key("aggregate", kSectionList)
        .Doc("Event-time aggregations: measures over windows per group, sent as window results "
             "beside the raw events."),
    Key("aggregate[].name", kString)
        .Required()
        .Example("telemetry_1m")
        .Doc("Unique name of the aggregation, in metrics and every window result: 1-128 "
             "letters, digits, '-', '_' or '.'."),
    Key("aggregate[].match", kTopicFilter)
        .Default("\"#\"")
        .Example("devices/+/telemetry")
        .Doc("Topic filter of the events aggregated."),
    Key("aggregate[].group_by", kStringList)
        .Default("[]")
        .Example("[device_id]")
        .Doc("One set of windows per value of these: device_id and/or JSON Pointers. Empty: one "
             "group. More groups keep more state (buffer.state_max_bytes)."),
    Key("aggregate[].window", kSection).Required().Doc("Exactly one of tumbling or hopping."),
    // Sub-second windows would emit a result for nearly every event; a week is the longest
    // window whose state fits within state_ttl (at most 30 d).
    Key("aggregate[].window.tumbling", kDuration)
        .Group("window", true)
        .Range(kSecond, 7 * kDay)
        .Example("1m")
        .Doc("Back-to-back windows of this size."),
    Key("aggregate[].window.hopping", kSection)
        .Group("window", true)
        .Doc("Overlapping windows, size long, one starting every slide; each event updates "
             "size/slide of them (at most 100)."),
    Key("aggregate[].window.hopping.size", kDuration)
        .Required()
        .Range(kSecond, 7 * kDay)
        .Example("5m")
        .Doc("Length of each window."),
    Key("aggregate[].window.hopping.slide", kDuration)
        .Required()
        .Range(kSecond, 7 * kDay)
        .Example("1m")
        .Doc("Time between window starts; must divide size."),
    Key("aggregate[].measures", kSection).Required().Doc("What to compute: field: [measures]."),
    Key("aggregate[].measures.<field>", kChoiceList)
        .Required()
        .Choices("count, sum, min, max, avg, last, p50, p95, p99")
        .ExampleKey("/temp")
        .Example("[count, min, max, avg, p95]")
        .Doc("A numeric field's JSON Pointer (or count) and its measures; at least one. last is "
             "by event time; sums are exact; p50/p95/p99 come from a sketch with 1% relative "
             "error."),
    Key("aggregate[].watermark", kSection).Doc("When a window closes."),
    Key("aggregate[].watermark.max_out_of_order", kDuration)
        .Range(0, kDay)
        .Default("5s")
        .Example("5s")
        .Doc("A device's readings may arrive this much out of order: its windows close once its "
             "newest event time passes their end by this much. Longer waits for stragglers but "
             "delays every result."),
    Key("aggregate[].watermark.idle_timeout", kDuration)
        .Range(kSecond, 7 * kDay)
        .Default("1m")
        .Example("1m")
        .Doc("A device silent this long stops holding windows open."),
    Key("aggregate[].allowed_lateness", kDuration)
        .Range(0, 7 * kDay)
        .Default("0")
        .Example("1h")
        .Doc("A reading this late after its window closed still counts (see late_events); later "
             "ones are counted as too_late. Longer keeps window state longer."),
    Key("aggregate[].late_events", kChoice)
        .Choices("update, drop, side_output")
        .Default("update")
        .Example("update")
        .Doc("A late reading within allowed_lateness: update emits revision+1 of the result, "
             "drop counts it, side_output forwards it raw with the late flag."),
    Key("aggregate[].forward_raw", kBool)
        .Default("true")
        .Example("true")
        .Doc("Also buffer and upload the raw events; false sends window results only (events "
             "over the state budget still travel raw)."),

    Key("buffer", kSection).Doc("The durable buffer in agent.state_dir (SQLite, WAL mode)."),
    // Below 1 MiB the WAL and commit reserve leave almost nothing for data (store_limits.h).
    Key("buffer.max_bytes", kSize)
        .Range(kMiB, kTiB)
        .Default("256MiB")
        .Example("256MiB")
        .Doc("buffer.db and its WAL stay within this on disk (plus a 32 KiB index); about 7/8 "
             "of it holds records."),
    Key("buffer.max_events", kInteger)
        .Range(0, kMaxCount)
        .Default("0")
        .Example("1000000")
        .Doc("Also bound the number of buffered records; 0: no bound."),
    // 0 keeps events until sent; a year is the longest retention one would configure.
    Key("buffer.max_age", kDuration)
        .Range(0, 365 * kDay)
        .Default("0")
        .Example("7d")
        .Doc("Unsent raw events older than this are deleted and counted (a retention limit for "
             "privacy as well as space); 0 keeps them until sent."),
    Key("buffer.when_full", kChoice)
        .Choices("drop_oldest, block")
        .Default("drop_oldest")
        .Example("drop_oldest")
        .Doc("drop_oldest deletes the oldest raw events of the lowest priority first (counted); "
             "block stops reading MQTT until space frees, so the broker must queue for the "
             "session."),
    Key("buffer.sync", kChoice)
        .Choices("normal, full")
        .Default("normal")
        .Example("normal")
        .Doc("full fsyncs every commit, so a power cut loses nothing committed (slower); with "
             "normal a power cut may lose the last commits (an agent crash does not)."),
    // A kill -9 loses up to this much; 0 commits before the broker's ack returns.
    Key("buffer.commit_interval", kDuration)
        .Range(0, 10 * kSecond)
        .Default("50ms")
        .Example("50ms")
        .Doc("Group commit period: a kill -9 loses at most what arrived since the last commit. "
             "0 commits each message before it is acknowledged (slowest)."),
    Key("buffer.state_ttl", kDuration)
        .Range(kMinute, 30 * kDay)
        .Default("24h")
        .Example("24h")
        .Doc("Window state idle this long is evicted; an open window is then emitted as not "
             "final."),
    // The memory budget of all aggregations' state: below 64 KiB hardly a window fits.
    Key("buffer.state_max_bytes", kSize)
        .Range(64 * kKiB, 64 * kGiB)
        .Default("16MiB")
        .Example("16MiB")
        .Doc("Memory budget of every aggregation's state. Past it, events of new keys are not "
             "aggregated but sent raw (counted): a publisher inventing device ids cannot grow "
             "the agent."),

    Key("uplink", kSection).Required().Doc("Where batches go."),
    Key("uplink.transport", kChoice)
        .Choices("https, mqtt")
        .Default("https")
        .Example("https")
        .Doc("HTTPS POST, or MQTT v5 to a cloud broker (QoS 1 to tidegate/<agent.id>/batches; "
             "a batch is deleted on the collector's ack, not the broker's PUBACK). mqtt needs "
             "uplink.tls.cert_file and key_file: the broker knows gateways by certificate."),
    Key("uplink.url", kString)
        .Required()
        .Example("https://collector.example.net:8443/v1/batches")
        .Doc("Receiver URL: https://... for https, mqtts://HOST:PORT for mqtt."),
    Key("uplink.tls", kSection).Doc("TLS towards the receiver (always on)."),
    Key("uplink.tls.ca_file", kFile)
        .Example("/etc/tidegate/ca.pem")
        .Doc("CA bundle the receiver's certificate is verified against; none: the system's CA "
             "store."),
    Key("uplink.tls.cert_file", kFile)
        .Needs("uplink.tls.key_file")
        .Example("/etc/tidegate/client.pem")
        .Doc("Client certificate, for a receiver that authenticates gateways by certificate."),
    Key("uplink.tls.key_file", kFile)
        .Needs("uplink.tls.cert_file")
        .Example("/etc/tidegate/client.key")
        .Doc("Private key of cert_file; keep it mode 0600."),
    Key("uplink.batch", kSection).Doc("How events are grouped into batches."),
    Key("uplink.batch.max_events", kInteger)
        .Range(1, 100'000)
        .Default("1000")
        .Example("1000")
        .Doc("Records per batch at most."),
    // The reference collector refuses bodies over 16 MiB; 8 MiB leaves room for a record
    // past the cap and for incompressible (encrypted) payloads.
    Key("uplink.batch.max_bytes", kSize)
        .Range(kKiB, 8 * kMiB)
        .Default("1MiB")
        .Example("1MiB")
        .Doc("Uncompressed bytes per batch at most. Larger batches compress better; a failed "
             "upload then resends more."),
    Key("uplink.batch.linger", kDuration)
        .Range(0, kMinute)
        .Default("200ms")
        .Example("200ms")
        .Doc("A batch that is not full waits this long for more records; a full one goes at "
             "once. Longer makes fewer, fuller batches and adds latency."),
    Key("uplink.compression", kSection).Doc("zstd compression of each batch."),
    Key("uplink.compression.level", kInteger)
        .Range(1, 19)
        .Default("1")
        .Example("3")
        .Doc("zstd level: 1 is fast and compresses JSON ~6x; higher costs CPU for a few percent."),
    Key("uplink.compression.dictionary", kFile)
        .Example("/etc/tidegate/batches.dict")
        .Doc("A zstd dictionary file (`tidegate-collector dict train`, at most 1 MiB) to "
             "compress every batch with; the receiver needs the same file (`serve "
             "--dictionary`), and refuses batches whose dictionary it lacks. Read at start "
             "and when a config apply changes the uplink section."),
    Key("uplink.retry", kSection)
        .Doc("Exponential backoff with jitter after a failed upload; a receiver's Retry-After is "
             "honoured up to 1h."),
    // A floor keeps a failing receiver from being hammered; an hour is the longest pause
    // worth waiting through (Retry-After is capped at the same hour).
    Key("uplink.retry.initial", kDuration)
        .Range(100 * kMs, kHour)
        .Default("500ms")
        .Example("500ms")
        .Doc("First pause; at most max."),
    Key("uplink.retry.max", kDuration)
        .Range(100 * kMs, kHour)
        .Default("30s")
        .Example("30s")
        .Doc("Longest pause. Longer spares a receiver that is down; the gateway then notices its "
             "return later."),
    Key("uplink.connect_timeout", kDuration)
        .Range(100 * kMs, 5 * kMinute)
        .Default("5s")
        .Example("5s")
        .Doc("Give up a connection attempt after this long (then retry)."),
    Key("uplink.request_timeout", kDuration)
        .Range(kSecond, kHour)
        .Default("30s")
        .Example("30s")
        .Doc("Give up an upload after this long (then retry the same batch)."),
    // 0 is unlimited; below 1 KiB/s a batch takes longer than any request timeout.
    Key("uplink.max_bytes_per_second", kSize)
        .Range(kKiB, kGiB, true)
        .Default("0")
        .Example("0")
        .Doc("Pace uploads on a metered or shared link; 0: unlimited."),
    Key("uplink.mqtt", kSection).Doc("MQTT v5 uplink (uplink.transport: mqtt) only."),
    Key("uplink.mqtt.client_id", kString)
        .Example("gw-berlin-01")
        .Doc("MQTT client id at the cloud broker; default agent.id. Keep it stable: the broker "
             "keeps the session (and the acks queued while offline) under it."),
    // Below 5 s the pings cost more than they find; 20 min is as long as NATs keep state.
    Key("uplink.mqtt.keepalive", kDuration)
        .Range(5 * kSecond, 20 * kMinute)
        .Default("60s")
        .Example("60s")
        .Doc("MQTT keepalive: a dead connection is noticed after about 1.5 times this."),
    Key("uplink.mqtt.max_inflight", kInteger)
        .Range(1, 64)
        .Default("4")
        .Example("4")
        .Doc("Batches published and not yet acknowledged by a collector. More keeps a long "
             "link busy; each costs up to batch.max_bytes of memory."),
    Key("uplink.mqtt.ack_timeout", kDuration)
        .Range(kSecond, kHour)
        .Default("30s")
        .Example("30s")
        .Doc("A batch without a collector's ack this long is published again, same id and "
             "bytes (counted as a retry). Shorter recovers sooner from a vanished collector."),

    Key("remote_config", kSection)
        .Doc("Signed config updates from the cloud (docs/remote-config.md). Off unless enabled "
             "here; SIGHUP reloads the local file with the same validation either way."),
    Key("remote_config.enabled", kBool)
        .Needs("remote_config.signing_public_key")
        .Default("false")
        .Example("true")
        .Doc("Accept signed config bundles on channel. A bundle cannot turn this off."),
    Key("remote_config.channel", kChoice)
        .Choices("opamp, mqtt")
        .Default("opamp")
        .Example("opamp")
        .Doc("opamp: poll url (OpAMP over HTTP). mqtt: the retained topic "
             "tidegate/<agent.id>/config on the uplink broker, status on .../config/status."),
    Key("remote_config.url", kString)
        .Example("https://config.example.net/v1/opamp")
        .Doc("OpAMP endpoint to poll for config bundles (channel opamp)."),
    Key("remote_config.poll_interval", kDuration)
        .Range(kSecond, kDay)
        .Default("1m")
        .Example("1m")
        .Doc("How often url is polled."),
    Key("remote_config.signing_public_key", kFile)
        .Example("/etc/tidegate/keys/signing.pub")
        .Doc("Ed25519 public key bundles must be signed with (from `tidegate keys init`); "
             "required when enabled. A bundle may change it only to next_signing_public_key."),
    Key("remote_config.next_signing_public_key", kFile)
        .Example("/etc/tidegate/keys/signing-2.pub")
        .Doc("Key rotation: the one other public key file a bundle (signed with the current "
             "key) may make the signing_public_key. Place the file on the gateway first."),
    Key("remote_config.rollback_after", kDuration)
        .Range(kMinute, kDay)
        .Default("5m")
        .Example("5m")
        .Doc("An applied bundle that leaves the uplink failing this long is rolled back to the "
             "last good config, and reported."),
};

}  // namespace

std::span<const ConfigKey> AllConfigKeys() { return kKeys; }

}  // namespace tidegate::agent
