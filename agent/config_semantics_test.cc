// SPDX-License-Identifier: Apache-2.0
#include "agent/config_semantics.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/config_loader.h"
#include "filters/token_keys.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"
#include "tests/support/zstd_dictionaries.h"

namespace tidegate::agent {
namespace {

using testing::TempDir;
using testing::WriteFile;

// Lines 1-8; the topics are on lines 7 and 8.
const std::string kHead = R"(agent:
  id: gw-1
  state_dir: /tmp/x
source:
  mqtt:
    topics:
      - filter: devices/+/telemetry
      - {filter: devices/+/alarm}
)";
const std::string kUplink = "uplink: {url: https://127.0.0.1:8443/v1/batches}\n";
const std::string kBase = kHead + kUplink;  // lines 1-9

std::vector<std::string> Check(const std::string& yaml, const std::string& file = "t.yaml",
                               bool check_files = true) {
  Result<Config> config = ParseConfig(yaml, file);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  std::vector<std::string> lines;
  for (const ConfigProblem& p : CheckConfigSemantics(*config, {.check_files = check_files})) {
    lines.push_back(p.ToString(file));
  }
  return lines;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("a valid config has no semantic problems", "[config]") {
  CHECK(Check(kBase).empty());
  CHECK(Check(kBase + "privacy:\n  rules:\n    - {match: devices/d1/#}\n").empty());
}

TEST_CASE("a privacy rule matching no subscribed topic is an error on its line", "[config]") {
  const std::string yaml = std::string(kBase) +
                           "privacy:\n"                          // 10
                           "  rules:\n"                          // 11
                           "    - match: devices/+/telemetry\n"  // 12
                           "    - match: devices/+/telemtry\n"   // 13
                           "      drop: [/user/email]\n";        // 14
  CHECK(Check(yaml) == Lines{"t.yaml:13: privacy.rules[1].match: 'devices/+/telemtry' matches no "
                             "subscribed topic (source.mqtt.topics: devices/+/telemetry, "
                             "devices/+/alarm)"});
  Result<Config> config = ParseConfig(yaml, "t.yaml");
  REQUIRE(config.ok());
  CHECK(HasErrors(CheckConfigSemantics(*config)));
}

TEST_CASE("an aggregation matching no subscribed topic is a warning", "[config]") {
  const std::string yaml = std::string(kBase) +
                           "aggregate:\n"                     // 10
                           "  - name: temp\n"                 // 11
                           "    match: sensors/#\n"           // 12
                           "    window: {tumbling: 1m}\n"     // 13
                           "    measures: {/temp: [avg]}\n";  // 14
  CHECK(Check(yaml) == Lines{"t.yaml:12: aggregate[0].match: warning: 'sensors/#' matches no "
                             "subscribed topic (source.mqtt.topics: devices/+/telemetry, "
                             "devices/+/alarm)"});
  Result<Config> config = ParseConfig(yaml, "t.yaml");
  REQUIRE(config.ok());
  CHECK_FALSE(HasErrors(CheckConfigSemantics(*config)));
}

TEST_CASE("a rule reaches topics of a shared subscription and of '#'", "[config]") {
  std::string yaml = kBase;
  yaml.replace(yaml.find("devices/+/alarm"), 15, "$share/g/sensors/+");
  CHECK(Check(yaml + "privacy:\n  rules:\n    - {match: sensors/s1}\n").empty());
  CHECK(Check(yaml + "privacy:\n  rules:\n    - {match: '#'}\n").empty());
  // '#' reaches no '$' topic: a rule for all topics does not cover $SYS.
  CHECK(Check(yaml + "privacy:\n  rules:\n    - {match: $SYS/#}\n").size() == 1);
}

TEST_CASE("a key left at its default is reported on its nearest parent's line", "[config]") {
  std::string yaml = kBase;
  yaml.replace(yaml.find("devices/+/telemetry"), 19, "$SYS/broker/#");
  yaml.replace(yaml.find("devices/+/alarm"), 15, "$SYS/clients/#");
  yaml +=
      "privacy:\n"                  // 10
      "  rules:\n"                  // 11
      "    - drop: [/user/ssn]\n";  // 12: match is '#', which reaches no '$' topic
  CHECK(Check(yaml) == Lines{"t.yaml:12: privacy.rules[0].match: '#' matches no subscribed "
                             "topic (source.mqtt.topics: $SYS/broker/#, $SYS/clients/#)"});
}

TEST_CASE("likely mistakes in topic filters are warnings, in line order", "[config]") {
  std::string yaml = kBase;
  yaml.replace(yaml.find("devices/+/telemetry"), 19, "devices/*/telemetry");
  yaml.replace(yaml.find("devices/+/alarm"), 15, "devices/");
  yaml +=
      "aggregate:\n"                     // 10
      "  - name: temp\n"                 // 11
      "    match: /devices/+/alarm\n"    // 12
      "    window: {tumbling: 1m}\n"     // 13
      "    measures: {/temp: [avg]}\n";  // 14
  CHECK(Check(yaml) ==
        Lines{"t.yaml:7: source.mqtt.topics[0].filter: warning: 'devices/*/telemetry' has a "
              "literal '*': MQTT's wildcards are + (one level) and # (all levels below)",
              "t.yaml:8: source.mqtt.topics[1].filter: warning: 'devices/' ends with '/', so it "
              "matches only topics whose last level is empty (did you mean 'devices' or "
              "'devices/#'?)",
              "t.yaml:12: aggregate[0].match: warning: '/devices/+/alarm' starts with '/', so it "
              "matches only topics whose first level is empty (did you mean "
              "'devices/+/alarm'?)",
              "t.yaml:12: aggregate[0].match: warning: '/devices/+/alarm' matches no subscribed "
              "topic (source.mqtt.topics: devices/*/telemetry, devices/)"});
}

TEST_CASE("the files a config names must open, with the errno text", "[config]") {
  TempDir dir("semantics");
  const std::string keys = dir.File("token.keys");
  const std::string missing = dir.File("nope.pem");
  const std::string yaml = kHead +
                           "privacy:\n"  // 9
                           "  key_file: " +
                           keys +
                           "\n"  // 10
                           "  recipient_public_key: " +
                           dir.path() +
                           "\n"                                          // 11
                           "uplink:\n"                                   // 12
                           "  url: https://127.0.0.1:8443/v1/batches\n"  // 13
                           "  tls: {ca_file: " +
                           missing + "}\n";  // 14
  CHECK(Check(yaml) ==
        Lines{"t.yaml:10: privacy.key_file: cannot open '" + keys + "': No such file or directory",
              "t.yaml:11: privacy.recipient_public_key: cannot open '" + dir.path() +
                  "': Is a directory",
              "t.yaml:14: uplink.tls.ca_file: cannot open '" + missing +
                  "': No such file or directory"});
  CHECK(Check(yaml, "t.yaml", /*check_files=*/false).empty());
}

TEST_CASE("private keys readable by group or others are refused as run refuses them", "[config]") {
  TempDir dir("semantics-mode");
  const std::string keys = dir.File("token.keys");
  REQUIRE(WriteFile(keys, filters::TokenKeySet::Generate("k1").Serialize(), 0644).ok());
  const std::string cert = dir.File("client.pem");
  const std::string client_key = dir.File("client.key");
  REQUIRE(WriteFile(cert, "cert", 0644).ok());
  REQUIRE(WriteFile(client_key, "key", 0640).ok());
  const std::string yaml = kHead +
                           "privacy:\n"  // 9
                           "  key_file: " +
                           keys +
                           "\n"                                          // 10
                           "uplink:\n"                                   // 11
                           "  url: https://127.0.0.1:8443/v1/batches\n"  // 12
                           "  tls:\n"                                    // 13
                           "    cert_file: " +
                           cert +
                           "\n"  // 14
                           "    key_file: " +
                           client_key + "\n";  // 15
  CHECK(Check(yaml) ==
        Lines{"t.yaml:10: privacy.key_file: key file " + keys +
                  " has mode 0644: it must not be readable by group or others (chmod 600 " + keys +
                  ")",
              "t.yaml:15: uplink.tls.key_file: key file " + client_key +
                  " has mode 0640: it must not be readable by group or others (chmod 600 " +
                  client_key + ")"});
  // The words of the loader `run` uses for the token keys.
  CHECK(filters::TokenKeySet::Load(keys).status().message() ==
        "key file " + keys +
            " has mode 0644: it must not be readable by group or others (chmod 600 " + keys + ")");
  REQUIRE(WriteFile(keys, filters::TokenKeySet::Generate("k1").Serialize(), 0600).ok());
  REQUIRE(WriteFile(client_key, "key", 0400).ok());
  CHECK(Check(yaml).empty());
}

TEST_CASE("a config file holding a password must not be readable by others", "[config]") {
  TempDir dir("semantics-password");
  const std::string file = dir.File("agent.yaml");
  std::string yaml = kBase;
  yaml.insert(yaml.find("    topics:"), "    credentials: {username: u, password: secret}\n");
  REQUIRE(WriteFile(file, yaml, 0644).ok());
  CHECK(Check(yaml, file) ==
        Lines{file + ":6: source.mqtt.credentials.password: " + file +
              " has mode 0644 and holds this password: it must not be readable by group or "
              "others (chmod 600 " +
              file +
              ", or put the password in a mode 0600 file named "
              "by source.mqtt.credentials.password_file)"});
  REQUIRE(WriteFile(file, yaml, 0600).ok());
  CHECK(Check(yaml, file).empty());
  REQUIRE(WriteFile(file, kBase, 0644).ok());  // no password: any mode
  CHECK(Check(kBase, file).empty());
}

TEST_CASE("a device id topic level that subscribed topics lack is a warning", "[config]") {
  const std::string yaml = kBase + "events:\n  device_id: {from_topic: 3}\n";  // 10, 11
  const std::string tail =
      " has a non-empty level 3 (0-based): its events would all be dropped as "
      "missing_device_id";
  CHECK(Check(yaml) ==
        Lines{"t.yaml:11: events.device_id.from_topic: warning: no topic of "
              "'devices/+/telemetry'" +
                  tail,
              "t.yaml:11: events.device_id.from_topic: warning: no topic of 'devices/+/alarm'" +
                  tail});
  CHECK(Check(kBase + "events:\n  device_id: {from_topic: 1}\n").empty());
}

TEST_CASE("remote_config: each channel's needs", "[config]") {
  const std::string on = "remote_config: {enabled: true, signing_public_key: k, ";
  CHECK(Check(kBase + on + "url: 'https://fleet.example/v1/opamp'}\n").empty());
  CHECK(Check(kBase + on + "url: 'ftp://fleet.example/'}\n") ==
        Lines{"t.yaml:10: remote_config.url: channel opamp needs the OpAMP server's http:// or "
              "https:// url"});
  // kBase's uplink is HTTPS: the MQTT channel has no connection to ride.
  CHECK(Check(kBase + on + "channel: mqtt}\n") ==
        Lines{"t.yaml:10: remote_config.channel: channel mqtt rides the uplink's MQTT "
              "connection: it needs uplink.transport mqtt"});
  CHECK(Check(kBase + "remote_config: {enabled: false, url: 'ftp://x'}\n").empty());
}

// Issue 12: uplink.compression.dictionary is loaded as `run` loads it; what `run` would refuse
// (too large, not a zstd dictionary, unreadable) is an error on the key's line.
TEST_CASE("uplink.compression.dictionary must be a zstd dictionary of at most 1 MiB",
          "[config][zdict]") {
  TempDir dir("semantics-dict");
  auto with_dictionary = [](const std::string& path) {
    return kHead +
           "uplink:\n"                                   // 9
           "  url: https://127.0.0.1:8443/v1/batches\n"  // 10
           "  compression: {level: 3, dictionary: " +
           path + "}\n";  // 11
  };
  const std::string good = dir.File("good.dict");
  REQUIRE(WriteFile(good, testing::TrainTestDictionary()).ok());
  CHECK(Check(with_dictionary(good)).empty());

  std::string big = testing::TrainTestDictionary();
  big.resize((size_t{1} << 20) + 1, 'x');
  const std::string oversized = dir.File("big.dict");
  REQUIRE(WriteFile(oversized, big).ok());
  CHECK(Check(with_dictionary(oversized)) ==
        Lines{"t.yaml:11: uplink.compression.dictionary: " + oversized +
              " is larger than 1048576 bytes: not a dictionary"});

  const std::string raw = dir.File("samples.json");
  REQUIRE(WriteFile(raw, R"({"temp":21.5,"device_id":"sensor-1"})").ok());
  const Lines not_dictionary = Check(with_dictionary(raw));
  REQUIRE(not_dictionary.size() == 1);
  CHECK_THAT(not_dictionary[0], Catch::StartsWith("t.yaml:11: uplink.compression.dictionary: " +
                                                  raw + " is not a zstd dictionary"));

  const std::string missing = dir.File("nope.dict");
  const Lines unreadable = Check(with_dictionary(missing));
  REQUIRE(unreadable.size() == 1);
  CHECK_THAT(unreadable[0], Catch::Contains("cannot read " + missing));
  CHECK(Check(with_dictionary(missing), "t.yaml", /*check_files=*/false).empty());
}

}  // namespace tidegate::agent
