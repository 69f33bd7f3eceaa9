// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/https_poster.h"

#include <algorithm>

#include "net/http_client.h"

namespace tidegate::remote::opamp {
namespace {

using Clock = std::chrono::steady_clock;

class HttpsPoster final : public HttpPoster {
 public:
  HttpsPoster(HttpsPosterOptions options, std::unique_ptr<net::HttpClient> client)
      : options_(std::move(options)), client_(std::move(client)) {}

  Result<PostReply> Post(std::string_view body) override {
    const Clock::time_point deadline = Clock::now() + options_.request_timeout;
    bool overflow = false;
    std::string answer_body;
    net::HttpPost post;
    post.headers = {{"Content-Type", kProtobufContentType}};
    post.content_length = body.size();
    post.deadline = deadline;
    post.body = [&](size_t offset, size_t length, httplib::DataSink& sink) {
      sink.write(body.data() + offset, length);
      return true;
    };
    post.receive = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (answer_body.size() + n > options_.max_response_bytes) {
        overflow = true;
        return false;
      }
      answer_body.append(data, n);
      return true;
    };
    net::HttpAnswer answer = client_->Post(post, [&] { return Clock::now() < deadline; });
    if (overflow) {
      return ResourceExhausted("the OpAMP answer exceeds " +
                               std::to_string(options_.max_response_bytes) + " bytes");
    }
    if (answer.error != httplib::Error::Success) {
      std::string reason = net::DescribeHttpError(answer);
      // net::HttpClient stops its callbacks and socket waits at the deadline.
      if (Clock::now() >= deadline) reason += ": request_timeout reached";
      return Unavailable(reason);
    }
    return PostReply{.http_status = answer.status, .body = std::move(answer_body)};
  }

  void Interrupt() override { client_->Stop(); }

 private:
  const HttpsPosterOptions options_;
  std::unique_ptr<net::HttpClient> client_;
};

}  // namespace

Result<std::unique_ptr<HttpPoster>> NewHttpsPoster(const HttpsPosterOptions& options) {
  TG_ASSIGN_OR_RETURN(
      std::unique_ptr<net::HttpClient> client,
      net::HttpClient::Create(options.url, {.tls = options.tls,
                                            .connect_timeout = std::min(options.connect_timeout,
                                                                        options.request_timeout),
                                            .io_timeout = options.request_timeout}));
  return std::unique_ptr<HttpPoster>(std::make_unique<HttpsPoster>(options, std::move(client)));
}

}  // namespace tidegate::remote::opamp
