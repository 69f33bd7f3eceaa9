// SPDX-License-Identifier: Apache-2.0
#include "agent/config_loader.h"

#include <catch2/catch.hpp>

#include "agent/yaml_reader.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

using tidegate::agent::ParseConfig;

namespace {

constexpr const char* kMinimal = R"(agent:
  id: gw-1
  state_dir: /tmp/x
source:
  mqtt:
    host: 127.0.0.1
    port: 1883
    topics:
      - filter: devices/+/telemetry
        qos: 1
        priority: 7
uplink:
  url: https://127.0.0.1:8443/v1/batches
)";

std::string ErrorOf(const std::string& yaml) {
  auto config = ParseConfig(yaml, "test.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == tidegate::StatusCode::kInvalidArgument);
  return config.status().message();
}

}  // namespace

TEST_CASE("a minimal config parses with documented defaults", "[config]") {
  auto config = ParseConfig(kMinimal, "test.yaml");
  REQUIRE(config.ok());
  CHECK(config->agent.id == "gw-1");
  REQUIRE(config->mqtt.topics.size() == 1);
  CHECK(config->mqtt.topics[0].priority == 7);
  CHECK(config->buffer.commit_interval.count() == 50);
  CHECK(config->buffer.max_bytes == 256ull << 20);
  CHECK(config->uplink.batch_max_events == 1000);
  CHECK(config->events.event_time_field == "/ts");
}

TEST_CASE("every section's values are read", "[config]") {
  std::string yaml = std::string(kMinimal) + R"(events:
  format: json
  device_id: {from_topic: 1}
  event_time: {field: /meta/t, format: rfc3339}
  id: {field: /msg_id}
  max_future_skew: 2m
dedup:
  window: 15m
buffer:
  max_bytes: 64MiB
  max_events: 1000000
  max_age: 7d
  when_full: block
  sync: full
  commit_interval: 0
  state_ttl: 1h
)";
  auto config = ParseConfig(yaml, "test.yaml");
  REQUIRE(config.ok());
  CHECK(config->events.device_id_topic_level == 1);
  CHECK(config->events.event_time_format == tidegate::TimeFormat::kRfc3339);
  CHECK(config->events.id_field == "/msg_id");
  CHECK(config->dedup.window.count() == int64_t{15} * 60'000);
  CHECK(config->buffer.max_bytes == 64ull << 20);
  CHECK(config->buffer.when_full == tidegate::WhenFull::kBlock);
  CHECK(config->buffer.sync == tidegate::SyncMode::kFull);
  CHECK(config->buffer.commit_interval.count() == 0);
  CHECK(config->buffer.max_age.count() == int64_t{7} * 86'400'000);
}

TEST_CASE("an unknown key names file, line and dotted key", "[config]") {
  std::string yaml = std::string(kMinimal) + "buffer:\n  max_bytez: 1MiB\n";
  CHECK(ErrorOf(yaml) == "test.yaml:15: buffer.max_bytez: unknown key (did you mean 'max_bytes'?)");
}

TEST_CASE("wrong types, bad durations and bad sizes are errors with lines", "[config]") {
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  commit_interval: soon\n")
            .find("test.yaml:15: buffer.commit_interval: bad duration 'soon'") == 0);
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  max_bytes: 12 parsecs\n")
            .find("test.yaml:15: buffer.max_bytes: bad size") == 0);
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  when_full: explode\n")
            .find("expected one of drop_oldest, block") != std::string::npos);
  std::string bad_port = kMinimal;
  bad_port.replace(bad_port.find("port: 1883"), 10, "port: http");
  CHECK(ErrorOf(bad_port).find("test.yaml:7: source.mqtt.port: expected an integer") == 0);
}

TEST_CASE("buffer.state_max_bytes defaults to 16MiB and must be 64KiB to 64GiB", "[config]") {
  auto defaults = ParseConfig(kMinimal, "test.yaml");
  REQUIRE(defaults.ok());
  CHECK(defaults->buffer.state_max_bytes == 16ull << 20);
  auto set = ParseConfig(std::string(kMinimal) + "buffer:\n  state_max_bytes: 2MiB\n", "test.yaml");
  REQUIRE(set.ok());
  CHECK(set->buffer.state_max_bytes == 2ull << 20);
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  state_max_bytes: 1KiB\n")
            .find("test.yaml:15: buffer.state_max_bytes: '1KiB' is out of range (allowed: "
                  "64KiB..64GiB)") == 0);
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  state_max_bytes: 65GiB\n")
            .find("buffer.state_max_bytes: '65GiB' is out of range (allowed: 64KiB..64GiB)") !=
        std::string::npos);
}

TEST_CASE("semantic problems are reported together", "[config]") {
  std::string yaml = R"(agent:
  id: "bad id!"
source:
  mqtt:
    topics:
      - filter: devices/#/x
uplink:
  url: http://insecure
)";
  std::string errors = ErrorOf(yaml);
  CHECK(errors.find("agent.id") != std::string::npos);
  CHECK(errors.find("source.mqtt.topics[0].filter") != std::string::npos);
  CHECK(errors.find("uplink.url") != std::string::npos);
}

TEST_CASE("aggregations need a plain unique name, a window and known measures", "[config]") {
  std::string yaml = std::string(kMinimal) + R"(aggregate:
  - name: "temp 1m\""
    window: {tumbling: 1m}
    measures: {/temp: [avg]}
  - name: ok
    window: {hopping: {size: 1m, slide: 7s}}
    measures: {/temp: [median]}
  - name: ok
    window: {tumbling: 1m}
    measures: {/temp: [avg]}
)";
  std::string errors = ErrorOf(yaml);
  CHECK(errors.find("aggregate[0].name: must be 1-128 characters") != std::string::npos);
  CHECK(errors.find("aggregate[1].window.hopping: slide must") != std::string::npos);
  CHECK(errors.find("unknown value 'median' (expected count, sum, min, max, avg, last, p50, p95, "
                    "p99)") != std::string::npos);
  CHECK(errors.find("aggregate[2]") != std::string::npos);  // a repeated name
}

TEST_CASE("privacy rules need keys and valid pointers", "[config]") {
  std::string yaml = std::string(kMinimal) + R"(privacy:
  rules:
    - match: devices/#
      tokenize: [user/email]
      mask: {/ip: ipv4_prefix_24, /x: blur}
)";
  std::string errors = ErrorOf(yaml);
  CHECK(errors.find("privacy.key_file: is required") != std::string::npos);
  CHECK(errors.find("'user/email' is not a JSON Pointer") != std::string::npos);
  CHECK(errors.find("privacy.rules[0].mask./x: expected one of") != std::string::npos);
}

TEST_CASE("YAML syntax errors and empty files are invalid config", "[config]") {
  CHECK(ErrorOf("agent: [unclosed\n").find("test.yaml:") == 0);
  CHECK(ErrorOf("").find("empty") != std::string::npos);
  CHECK(ErrorOf("- a\n- b\n").find("expected a mapping") != std::string::npos);
}

TEST_CASE("a hopping window may not put an event in more than 100 windows", "[config]") {
  std::string base = std::string(kMinimal) + "aggregate:\n  - name: h\n    measures: {/t: [avg]}\n";
  CHECK(ParseConfig(base + "    window: {hopping: {size: 100m, slide: 1m}}\n", "test.yaml").ok());
  CHECK(ErrorOf(base + "    window: {hopping: {size: 101m, slide: 1m}}\n")
            .find("aggregate[0].window.hopping: size/slide must be at most 100") !=
        std::string::npos);
}

TEST_CASE("the absurd durations of issue 10 are refused with the allowed range",
          "[config][issue-10]") {
  const std::string errors = ErrorOf(std::string(kMinimal) +
                                     "  batch: {linger: 99999999999d}\n"
                                     "  retry: {max: 9223372036854775807ms}\n"
                                     "buffer:\n"
                                     "  max_age: 99999999999d\n");
  CHECK(errors.find("test.yaml:14: uplink.batch.linger: '99999999999d' is out of range "
                    "(allowed: 0..1m)") != std::string::npos);
  CHECK(errors.find("test.yaml:15: uplink.retry.max: '9223372036854775807ms' is out of range "
                    "(allowed: 100ms..1h)") != std::string::npos);
  CHECK(errors.find("test.yaml:17: buffer.max_age: '99999999999d' is out of range "
                    "(allowed: 0..365d)") != std::string::npos);
}

TEST_CASE("a privacy rule without a mask is valid", "[config]") {
  auto config = ParseConfig(std::string(kMinimal) + R"(privacy:
  recipient_public_key: /k/recipient.pub
  rules:
    - {match: devices/+/telemetry, encrypt: [/user/phone]}
)",
                            "test.yaml");
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->privacy.rules.at(0).encrypt == std::vector<std::string>{"/user/phone"});
  CHECK(config->privacy.rules.at(0).mask.empty());
}

TEST_CASE("an unknown key suggests the nearest key of its mapping", "[config][issue-11]") {
  std::string tls = kMinimal;
  tls.replace(tls.find("    port: 1883\n"), 0, "    tsl: {ca_file: /etc/ca.pem}\n");
  CHECK(ErrorOf(tls) == "test.yaml:7: source.mqtt.tsl: unknown key (did you mean 'tls'?)");
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  when-full: block\n") ==
        "test.yaml:15: buffer.when-full: unknown key (did you mean 'when_full'?)");
  // Nothing close: no guess.
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  colour: blue\n") ==
        "test.yaml:15: buffer.colour: unknown key");
  // Only keys of that mapping are suggested: "id" is agent.id, not a key of buffer.
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  ids: 1\n") ==
        "test.yaml:15: buffer.ids: unknown key");
}

TEST_CASE("a duplicate key names both lines", "[config][issue-11]") {
  const std::string yaml = R"(agent:
  id: gw-1
source:
  mqtt:
    host: 127.0.0.1
    topics: [{filter: "devices/#"}]
    host: 10.0.0.1
uplink:
  url: https://127.0.0.1:8443/v1/batches
)";
  CHECK(ErrorOf(yaml) == "test.yaml:7: source.mqtt.host: duplicate key (first at line 5)");
  CHECK(ErrorOf(std::string(kMinimal) + "agent: {id: gw-2}\n") ==
        "test.yaml:14: agent: duplicate key (first at line 1)");
}

TEST_CASE("errors are listed in line order", "[config][issue-11]") {
  // The loader reads uplink before remote_config and buffer after aggregate, whatever the
  // file's order; the report follows the file.
  const std::string yaml = R"(remote_config:
  poll_intervall: 1m
buffer:
  max_bytes: 1KiB
agent:
  id: "bad id"
source:
  mqtt:
    topics: [{filter: "devices/#", qos: 3}]
uplink:
  url: http://insecure
)";
  CHECK(ErrorOf(yaml) ==
        "test.yaml:2: remote_config.poll_intervall: unknown key (did you mean 'poll_interval'?)\n"
        "test.yaml:4: buffer.max_bytes: '1KiB' is out of range (allowed: 1MiB..1TiB)\n"
        "test.yaml:6: agent.id: must be 1-128 characters of letters, digits, '-', '_' or '.'\n"
        "test.yaml:9: source.mqtt.topics[0].qos: '3' is out of range (allowed: 0..2)\n"
        "test.yaml:11: uplink.url: is required and must start with https://");
}

TEST_CASE("a tab in the indentation is named as such", "[config][issue-11]") {
  CHECK(ErrorOf("agent:\n\tid: gw-1\n") ==
        "test.yaml:2: tabs are not allowed for indentation; use spaces");
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  max_bytes: 1MiB\n \tsync: full\n") ==
        "test.yaml:16: tabs are not allowed for indentation; use spaces");
  // A tab inside a value is not indentation.
  CHECK(ParseConfig(std::string(kMinimal) + "agent2: \"a\tb\"\n", "test.yaml")
            .status()
            .message()
            .find("tabs") == std::string::npos);
}

TEST_CASE("reading a key the key table lacks is an internal error", "[config][issue-11]") {
  const uint64_t before = tidegate::agent::InternalConfigErrorCount();
  tidegate::agent::ConfigErrors errors{.file = "test.yaml", .errors = {}, .key_lines = {}};
  YAML::Node node = YAML::Load("port: 1\n");
  tidegate::agent::MapReader r(node["nonexistent"], "buffer", &errors);
  std::string value;
  r.Str("colour", &value);
  int64_t number = 0;
  r.Int("max_bytes", &number);  // in the table, but as a size
  REQUIRE(errors.errors.size() == 2);
  CHECK_THAT(errors.errors[0].text, Catch::Contains("buffer.colour: internal error: the key table "
                                                    "(agent/config_key_table.cc) lacks this key"));
  CHECK_THAT(errors.errors[1].text, Catch::Contains("buffer.max_bytes: internal error"));
  CHECK(tidegate::agent::InternalConfigErrorCount() == before + 2);
}

namespace {

void Write(const tidegate::Status& status) { REQUIRE(status.message() == ""); }

// kMinimal with MQTT credentials.
std::string WithCredentials(const std::string& credentials) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("    topics:"), 0, "    credentials:\n" + credentials);
  return yaml;
}

}  // namespace

TEST_CASE("the broker password can come from a private file", "[config][issue-11]") {
  tidegate::testing::TempDir dir("password-file");
  const std::string secret = dir.File("mqtt.password");
  const std::string config = dir.File("tidegate.yaml");
  const std::string creds =
      "      username: gw\n"
      "      password_file: " +
      secret + "\n";
  Write(tidegate::testing::WriteFile(config, WithCredentials(creds)));

  SECTION("mode 0600: read, one trailing newline removed") {
    Write(tidegate::testing::WriteFile(secret, "s3cret \n\n", 0600));
    auto loaded = tidegate::agent::LoadConfigFile(config);
    REQUIRE(loaded.status().message() == "");
    CHECK(loaded->mqtt.password == "s3cret \n");
    CHECK(loaded->mqtt.username == "gw");
  }
  SECTION("readable by others: refused, naming the mode") {
    Write(tidegate::testing::WriteFile(secret, "s3cret\n", 0644));
    auto loaded = tidegate::agent::LoadConfigFile(config);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == tidegate::StatusCode::kInvalidArgument);
    CHECK(loaded.status().message() ==
          config + ": source.mqtt.credentials.password_file: " + secret +
              " has mode 0644; it must be 0600 or " + "stricter (chmod 600 " + secret + ")");
  }
  SECTION("missing: refused with the errno text") {
    auto loaded = tidegate::agent::LoadConfigFile(config);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().message() == config + ": source.mqtt.credentials.password_file: " +
                                           "cannot read " + secret + ": No such file or directory");
  }
  SECTION("empty: refused") {
    Write(tidegate::testing::WriteFile(secret, "\n", 0600));
    CHECK_THAT(tidegate::agent::LoadConfigFile(config).status().message(),
               Catch::EndsWith(secret + " holds no password"));
  }
}

TEST_CASE("password and password_file exclude each other and need a username",
          "[config][issue-11]") {
  CHECK(ErrorOf(WithCredentials("      username: gw\n"
                                "      password: a\n"
                                "      password_file: /etc/tidegate/mqtt.password\n")) ==
        "test.yaml:11: source.mqtt.credentials.password_file: use password or password_file, "
        "not both");
  CHECK(ErrorOf(WithCredentials("      password_file: /etc/tidegate/mqtt.password\n")) ==
        "test.yaml:9: source.mqtt.credentials.password_file: needs a username");
  // Parsing alone does not read the file: `config check` and `run` load it through
  // LoadConfigFile.
  auto parsed = ParseConfig(WithCredentials("      username: gw\n"
                                            "      password_file: /nonexistent/password\n"),
                            "test.yaml");
  REQUIRE(parsed.ok());
  CHECK(parsed->mqtt.password_file == "/nonexistent/password");
  CHECK(parsed->mqtt.password.empty());
}

TEST_CASE("a config file that cannot be read names the errno text", "[config][issue-11]") {
  tidegate::testing::TempDir dir("config-errno");
  auto missing = tidegate::agent::LoadConfigFile(dir.File("absent.yaml"));
  CHECK(missing.status().code() == tidegate::StatusCode::kNotFound);
  CHECK(missing.status().message() ==
        "cannot read config file " + dir.File("absent.yaml") + ": No such file or directory");
  auto directory = tidegate::agent::LoadConfigFile(dir.path());
  CHECK(directory.status().code() == tidegate::StatusCode::kIOError);
  CHECK(directory.status().message() ==
        "cannot read config file " + dir.path() + ": Is a directory");
}

TEST_CASE("control characters of a key are escaped so each error stays one line",
          "[config][issue-11]") {
  // Found by the config_loader fuzzer (fuzz/corpus/config_loader/crash-control-char-in-key.yaml).
  CHECK(ErrorOf(std::string(kMinimal) + "buffer:\n  \"sy\\x12\\nc\": full\n") ==
        "test.yaml:15: buffer.sy\\x12\\nc: unknown key (did you mean 'sync'?)");
}

namespace {

using tidegate::Millis;
using tidegate::Transport;

std::string WithUplink(const std::string& uplink) {
  std::string yaml = kMinimal;
  yaml.erase(yaml.find("uplink:"));
  return yaml + "uplink:\n" + uplink;
}

}  // namespace

TEST_CASE("an mqtt uplink reads its keys, with client_id defaulting to agent.id",
          "[config][mqtt]") {
  auto config = ParseConfig(WithUplink("  transport: mqtt\n"
                                       "  url: mqtts://broker.example.net:8883\n"
                                       "  tls:\n"
                                       "    cert_file: /etc/tidegate/client.pem\n"
                                       "    key_file: /etc/tidegate/client.key\n"
                                       "  mqtt:\n"
                                       "    keepalive: 20s\n"
                                       "    max_inflight: 8\n"
                                       "    ack_timeout: 10s\n"),
                            "test.yaml");
  REQUIRE(config.ok());
  CHECK(config->uplink.transport == Transport::kMqtt);
  CHECK(config->uplink.mqtt_client_id.empty());  // the transport uses agent.id
  CHECK(config->uplink.mqtt_keepalive == Millis(20'000));
  CHECK(config->uplink.mqtt_max_inflight == 8);
  CHECK(config->uplink.mqtt_ack_timeout == Millis(10'000));
  auto defaults = ParseConfig(kMinimal, "test.yaml");
  REQUIRE(defaults.ok());
  CHECK(defaults->uplink.mqtt_max_inflight == 4);
  CHECK(defaults->uplink.mqtt_ack_timeout == Millis(30'000));
  CHECK(defaults->uplink.mqtt_keepalive == Millis(60'000));
}

TEST_CASE("an mqtt uplink needs mqtts://HOST:PORT and a client certificate, named by line",
          "[config][mqtt]") {
  CHECK(ErrorOf(WithUplink("  transport: mqtt\n"
                           "  url: https://broker:8883\n"
                           "  tls:\n"
                           "    cert_file: /c.pem\n"
                           "    key_file: /c.key\n")) ==
        "test.yaml:14: uplink.url: with transport mqtt must be mqtts://HOST:PORT");
  CHECK(ErrorOf(WithUplink("  transport: mqtt\n"
                           "  url: mqtts://broker:8883\n")) ==
        "test.yaml:13: uplink.tls.cert_file: transport mqtt needs a client certificate "
        "(uplink.tls.cert_file and key_file)");
  CHECK(ErrorOf(WithUplink("  transport: https\n"
                           "  url: mqtts://broker:8883\n")) ==
        "test.yaml:14: uplink.url: is required and must start with https://");
  CHECK_THAT(ErrorOf(WithUplink("  transport: mqtt\n"
                                "  url: mqtts://broker:8883\n"
                                "  tls: {cert_file: /c.pem, key_file: /c.key}\n"
                                "  mqtt: {max_inflight: 65}\n")),
             Catch::Contains("uplink.mqtt.max_inflight: '65' is out of range (allowed: 1..64)"));
  CHECK_THAT(ErrorOf(WithUplink("  transport: mqtt\n"
                                "  url: mqtts://broker:8883\n"
                                "  tls: {cert_file: /c.pem, key_file: /c.key}\n"
                                "  mqtt: {ack_timeout: 2h}\n")),
             Catch::Contains("uplink.mqtt.ack_timeout: '2h' is out of range"));
}
