// SPDX-License-Identifier: Apache-2.0
// HttpPoster: how the OpAMP client POSTs one AgentToServer and reads the answer. The real
// one is https_poster.h; tests use a fake that records bodies and answers from a script.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::remote::opamp {

inline constexpr char kProtobufContentType[] = "application/x-protobuf";

struct PostReply {
  int http_status = 0;
  std::string body{};  // bounded by the poster
};

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  // Sends `body` as application/x-protobuf. kUnavailable for a transport failure (connect,
  // TLS, timeout), kResourceExhausted for an answer over the size bound.
  virtual Result<PostReply> Post(std::string_view body) = 0;
  // Makes a Post in progress on another thread return soon. Thread-safe.
  virtual void Interrupt() {}
};

}  // namespace tidegate::remote::opamp
