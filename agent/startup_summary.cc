// SPDX-License-Identifier: Apache-2.0
#include "agent/startup_summary.h"

#include <fmt/format.h>

namespace tidegate::agent {
namespace {

const char* YesNo(bool b) { return b ? "yes" : "no"; }

// ca=system|custom client_cert=yes|no for a TLS section.
std::string TlsSummary(const TlsSection& tls) {
  return fmt::format("ca={} client_cert={}", tls.ca_file.empty() ? "system" : "custom",
                     YesNo(!tls.cert_file.empty()));
}

std::string SourceLine(const MqttSourceSection& mqtt) {
  const std::string tls = mqtt.tls ? "tls=on " + TlsSummary(*mqtt.tls) : "tls=off";
  // An IPv6 address is bracketed, as in a URL, so that the port stays readable.
  const bool ipv6 = mqtt.host.find(':') != std::string::npos;
  return fmt::format("security: source mqtt host={}{}{}:{} {} user_set={} password_set={}",
                     ipv6 ? "[" : "", mqtt.host, ipv6 ? "]" : "", mqtt.port, tls,
                     YesNo(!mqtt.username.empty()), YesNo(!mqtt.password.empty()));
}

std::string UplinkLine(const UplinkSection& uplink) {
  // Both transports are TLS only (https://, mqtts://); the scheme says which.
  const bool tls = uplink.url.rfind("https://", 0) == 0 || uplink.url.rfind("mqtts://", 0) == 0;
  return fmt::format("security: uplink transport={} host={} tls={} {}",
                     uplink.transport == Transport::kHttps ? "https" : "mqtt",
                     UrlHostPort(uplink.url), tls ? "on" : "off", TlsSummary(uplink.tls));
}

std::string PrivacyLine(const Config& config, const filters::TokenKeySet* token_keys) {
  // Key ids are chosen by the operator (`tidegate keys init --key-id`, `keys rotate --id`)
  // and travel in every token: not secret.
  return fmt::format(
      "security: privacy token_key={} privacy_rules={} encrypt_recipient={} aggregations={} "
      "schemas=0",
      token_keys != nullptr ? token_keys->current().id : "none", config.privacy.rules.size(),
      config.privacy.recipient_public_key.empty() ? "none" : "set", config.aggregates.size());
}

}  // namespace

std::string UrlHostPort(std::string_view url) {
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
  }
  url = url.substr(0, url.find_first_of("/?#"));
  if (size_t at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  return std::string(url);
}

std::vector<std::string> SecuritySummary(const Config& config,
                                         const filters::TokenKeySet* token_keys) {
  return {SourceLine(config.mqtt), UplinkLine(config.uplink), PrivacyLine(config, token_keys)};
}

}  // namespace tidegate::agent
