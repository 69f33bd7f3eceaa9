// SPDX-License-Identifier: Apache-2.0
#include "agent/config_loader.h"

#include <catch2/catch.hpp>

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
  CHECK(ErrorOf(yaml) == "test.yaml:15: buffer.max_bytez: unknown key");
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
  CHECK(errors.find("unknown measure 'median'") != std::string::npos);
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
