// SPDX-License-Identifier: Apache-2.0
#include "agent/effective_config.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace tidegate::agent {
namespace {

constexpr char kConfig[] = R"(agent:
  id: gw-01
  state_dir: /var/lib/tidegate
source:
  mqtt:
    url: mqtts://sensor-user:hunter2@broker.local:8883/?token=abc123
    credentials:
      username: sensor-user
      password: hunter2
      password_file: /etc/tidegate/mqtt.pass
    tls:
      ca_file: /etc/tidegate/ca.pem
      cert_file: /etc/tidegate/client.pem
      key_file: /etc/tidegate/client.key
privacy:
  key_file: /etc/tidegate/keys/token.key
  recipient_public_key: Zm9vYmFyYmF6cXV4cXV1eA==
  rules:
    - field: /user/email
      action: tokenize
uplink:
  url: https://ingest.example.com:8443/v1/batches?secret=s3cr3t
  tls:
    ca_file: /etc/tidegate/uplink-ca.pem
    key_file: /etc/tidegate/uplink.key
  batch:
    max_events: 500
remote_config:
  enabled: true
  url: https://alice:pw@fleet.example.com/v1/opamp
  signing_public_key: c2lnbmluZy1wdWJsaWMta2V5
  extra:
    token: tok-999
    api_secret: sec-888
    nested_path: /srv/private
)";

TEST_CASE("the reported effective config keeps no credential and no key path", "[agent]") {
  auto redacted = RedactEffectiveConfig(kConfig);
  REQUIRE(redacted.ok());
  INFO(*redacted);
  const std::vector<std::string> secrets = {
      "hunter2",  "sensor-user",  "abc123",     "/etc/tidegate", "/var/lib/tidegate", "token.key",
      "Zm9vYmFy", "s3cr3t",       "alice",      "pw@",           "c2lnbmluZy",        "tok-999",
      "sec-888",  "/srv/private", "/user/email"};  // a JSON pointer looks like a path: redacted
                                                   // too, conservatively
  for (const std::string& s : secrets) {
    INFO(s);
    CHECK(redacted->find(s) == std::string::npos);
  }
  // The settings themselves stay readable.
  for (const char* kept :
       {"gw-01", "broker.local:8883", "ingest.example.com:8443/v1/batches",
        "fleet.example.com/v1/opamp", "max_events: 500", "tokenize", "enabled: true"}) {
    INFO(kept);
    CHECK(redacted->find(kept) != std::string::npos);
  }
}

TEST_CASE("the effective config redaction refuses what it cannot read", "[agent]") {
  CHECK_FALSE(RedactEffectiveConfig("a: [1, 2").ok());
  CHECK_FALSE(RedactEffectiveConfig(std::string(2 << 20, 'a')).ok());
  std::string deep;
  for (int i = 0; i < 100; ++i) deep = "[" + deep + "]";
  CHECK_FALSE(RedactEffectiveConfig(deep).ok());
}

}  // namespace
}  // namespace tidegate::agent
