// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/curl_poster.h"

#include <curl/curl.h>

#include <atomic>
#include <mutex>

namespace tidegate::remote::opamp {
namespace {

struct CurlCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Sink {
  std::string body;
  size_t max = 0;
  bool overflow = false;
};

size_t Capture(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (sink->body.size() + bytes > sink->max) {
    sink->overflow = true;
    return 0;  // aborts the transfer: CURLE_WRITE_ERROR
  }
  sink->body.append(data, bytes);
  return bytes;
}

int CheckInterrupted(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

class CurlPoster final : public HttpPoster {
 public:
  explicit CurlPoster(CurlPosterOptions options) : options_(std::move(options)) {}

  Status Configure() {
    curl_.reset(curl_easy_init());
    if (!curl_) return Internal("curl_easy_init failed");
    CURL* c = curl_.get();
    bool ok = curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str()) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Capture) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink_) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                                static_cast<long>(options_.connect_timeout.count())) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                                static_cast<long>(options_.request_timeout.count())) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, CheckInterrupted) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFODATA, &interrupted_) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (!options_.tls.ca_file.empty()) {
      ok = ok && curl_easy_setopt(c, CURLOPT_CAINFO, options_.tls.ca_file.c_str()) == CURLE_OK;
    }
    if (!options_.tls.cert_file.empty()) {
      ok = ok && curl_easy_setopt(c, CURLOPT_SSLCERT, options_.tls.cert_file.c_str()) == CURLE_OK;
      ok = ok && curl_easy_setopt(c, CURLOPT_SSLKEY, options_.tls.key_file.c_str()) == CURLE_OK;
    }
    if (!ok) return Internal("configuring libcurl for the OpAMP url failed");
    return Status::Ok();
  }

  Result<PostReply> Post(std::string_view body) override {
    CURL* c = curl_.get();
    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, "Content-Type: application/x-protobuf");
    raw = curl_slist_append(raw, "Expect:");
    std::unique_ptr<curl_slist, SlistFree> headers(raw);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    sink_ = Sink{.body = {}, .max = options_.max_response_bytes, .overflow = false};
    error_[0] = '\0';
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    if (sink_.overflow) {
      return ResourceExhausted("the OpAMP answer exceeds " +
                               std::to_string(options_.max_response_bytes) + " bytes");
    }
    if (rc != CURLE_OK) {
      std::string reason = curl_easy_strerror(rc);
      if (error_[0] != '\0') reason += std::string(": ") + error_;
      return Unavailable(reason);
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return PostReply{.http_status = static_cast<int>(status), .body = std::move(sink_.body)};
  }

  void Interrupt() override { interrupted_ = true; }

 private:
  const CurlPosterOptions options_;
  std::unique_ptr<CURL, CurlCleanup> curl_;
  Sink sink_;
  char error_[CURL_ERROR_SIZE] = {};
  std::atomic<bool> interrupted_{false};
};

}  // namespace

Result<std::unique_ptr<HttpPoster>> NewCurlPoster(const CurlPosterOptions& options) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto poster = std::make_unique<CurlPoster>(options);
  TG_RETURN_IF_ERROR(poster->Configure());
  return std::unique_ptr<HttpPoster>(std::move(poster));
}

}  // namespace tidegate::remote::opamp
