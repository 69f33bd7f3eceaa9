// SPDX-License-Identifier: Apache-2.0
// The startup security summary: what it says of each connection, and that no secret (a
// password, a user name, URL credentials, key bytes) ever appears in it.
#include "agent/startup_summary.h"

#include <catch2/catch.hpp>

namespace tidegate::agent {
namespace {

std::string Joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& line : lines) all += line + "\n";
  return all;
}

TEST_CASE("UrlHostPort keeps only host and port", "[startup-summary]") {
  CHECK(UrlHostPort("https://collector.example:8443/v1/batches") == "collector.example:8443");
  CHECK(UrlHostPort("https://user:s3cret@collector.example/v1/batches?x=1") == "collector.example");
  CHECK(UrlHostPort("mqtts://[::1]:8883") == "[::1]:8883");
  CHECK(UrlHostPort("collector:443") == "collector:443");
}

TEST_CASE("the security summary describes TLS and auth without secrets", "[startup-summary]") {
  Config config;
  config.mqtt.host = "broker.local";
  config.mqtt.port = 8883;
  config.mqtt.username = "gateway-user-name";
  config.mqtt.password = "broker-password-value";
  config.mqtt.tls = TlsSection{.ca_file = "/etc/tidegate/broker-ca.pem",
                               .cert_file = "/etc/tidegate/client.pem",
                               .key_file = "/etc/tidegate/client.key"};
  config.uplink.url = "https://agent:uplink-secret@collector.example:8443/v1/batches";
  config.privacy.rules.resize(2);
  config.aggregates.resize(1);
  filters::TokenKeySet keys = filters::TokenKeySet::Generate("k7");

  std::vector<std::string> lines = SecuritySummary(config, &keys);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "security: source mqtt host=broker.local:8883 tls=on ca=custom client_cert=yes "
        "user_set=yes password_set=yes");
  CHECK(lines[1] ==
        "security: uplink transport=https host=collector.example:8443 tls=on ca=system "
        "client_cert=no");
  CHECK(lines[2] ==
        "security: privacy token_key=k7 privacy_rules=2 encrypt_recipient=none aggregations=1 "
        "schemas=0");
  const std::string all = Joined(lines);
  for (const char* secret :
       {"gateway-user-name", "broker-password-value", "uplink-secret", "/etc/tidegate", "agent:"}) {
    CHECK(all.find(secret) == std::string::npos);
  }
}

TEST_CASE("the security summary of a plain, anonymous source and no keys", "[startup-summary]") {
  Config config;
  config.uplink.url = "https://localhost:8443/v1/batches";
  config.uplink.tls.ca_file = "/tmp/ca.pem";
  std::vector<std::string> lines = SecuritySummary(config, nullptr);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "security: source mqtt host=127.0.0.1:1883 tls=off user_set=no password_set=no");
  config.mqtt.host = "::1";
  CHECK_THAT(SecuritySummary(config, nullptr)[0], Catch::Contains(" host=[::1]:1883 "));
  CHECK(lines[1] ==
        "security: uplink transport=https host=localhost:8443 tls=on ca=custom client_cert=no");
  CHECK(lines[2] ==
        "security: privacy token_key=none privacy_rules=0 encrypt_recipient=none aggregations=0 "
        "schemas=0");
}

}  // namespace
}  // namespace tidegate::agent
