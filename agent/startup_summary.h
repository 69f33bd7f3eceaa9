// SPDX-License-Identifier: Apache-2.0
// The security summary the agent logs once at start, so an operator sees in the first lines
// how it will connect and what it will protect: the source connection (host:port, TLS, CA,
// client certificate, whether a user name and a password are set), the uplink (transport,
// host:port, TLS, CA, client certificate), the current token key id and how many privacy
// rules, aggregations and schemas are configured. Never a secret: no password, no user name,
// no key bytes, no URL path or credentials; file names only as "custom" vs "system".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "filters/token_keys.h"

namespace tidegate::agent {

// "host:port" of a URL: the scheme, any user:password@ and the path dropped.
std::string UrlHostPort(std::string_view url);

// The summary's lines, without a trailing newline, e.g.
//   security: source mqtt host=127.0.0.1:8883 tls=on ca=custom client_cert=no user_set=yes
//     password_set=yes
// token_keys is null when no key file is loaded.
std::vector<std::string> SecuritySummary(const Config& config,
                                         const filters::TokenKeySet* token_keys);

}  // namespace tidegate::agent
