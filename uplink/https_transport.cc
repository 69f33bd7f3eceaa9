// SPDX-License-Identifier: Apache-2.0
#include "uplink/https_transport.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace tidegate::uplink {
namespace {

constexpr size_t kMaxResponseBytes = 512;     // enough for a reason; bodies are not trusted
constexpr curl_off_t kMaxRetryAfterS = 3600;  // 1 h, as uplink.retry.max at most

size_t CaptureResponse(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t bytes = size * n;
  if (out->size() < kMaxResponseBytes) {
    out->append(data, std::min(bytes, kMaxResponseBytes - out->size()));
  }
  return bytes;
}

// Aborts a transfer once the uplink is stopping, instead of waiting for request_timeout.
int CheckInterrupted(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

// With a bandwidth cap the body is handed to curl through a read callback, in pieces of its
// upload buffer, so that CURLOPT_MAX_SEND_SPEED paces it. (Bodies below 64 KiB given with
// CURLOPT_POSTFIELDS leave with the headers in one write, which no limit can pace.)
constexpr long kPacedUploadBufferBytes = 16L * 1024;  // curl's minimum

struct UploadCursor {
  std::string_view body;
  size_t offset = 0;
};

size_t ReadBody(char* out, size_t size, size_t n, void* user) {
  auto* cursor = static_cast<UploadCursor*>(user);
  size_t len = std::min(size * n, cursor->body.size() - cursor->offset);
  std::memcpy(out, cursor->body.data() + cursor->offset, len);
  cursor->offset += len;
  return len;
}

// curl rewinds the body to resend it on a fresh connection when a reused one has died.
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* cursor = static_cast<UploadCursor*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > cursor->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  cursor->offset = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Keeps only printable ASCII of a receiver's answer, so a log line stays one safe line.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  return out;
}

}  // namespace

size_t HttpsConnections(const UplinkSection& config, uint64_t buffer_data_bytes) {
  if (config.max_bytes_per_second > 0) return 1;
  if (buffer_data_bytes == 0) return kHttpsConnections;
  constexpr uint64_t kPrepared = 2;  // UplinkWorker::kPipelineDepth, held besides the wire's
  const uint64_t batches = buffer_data_bytes / 8 / std::max<uint64_t>(config.batch_max_bytes, 1);
  if (batches <= kPrepared + 1) return 1;
  return static_cast<size_t>(std::min<uint64_t>(batches - kPrepared, kHttpsConnections));
}

SendResult::Kind ClassifyHttpStatus(long status) {
  if (status >= 200 && status < 300) return SendResult::Kind::kAcked;
  if (status == 408 || status == 429 || status >= 500) return SendResult::Kind::kRetry;
  if (status >= 400) return SendResult::Kind::kRejected;
  return SendResult::Kind::kRetry;  // 1xx/3xx: a misconfigured receiver, try again later
}

Result<std::unique_ptr<HttpsTransport>> HttpsTransport::Create(const UplinkSection& config) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<HttpsTransport> transport(new HttpsTransport(config));
  TG_RETURN_IF_ERROR(transport->Configure());
  return transport;
}

Status HttpsTransport::Configure() {
  curl_.reset(curl_easy_init());
  if (!curl_) return Internal("curl_easy_init failed");
  CURL* c = curl_.get();
  bool ok = curl_easy_setopt(c, CURLOPT_URL, config_.url.c_str()) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer_) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CaptureResponse) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_WRITEDATA, &response_) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                              static_cast<long>(config_.connect_timeout.count())) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                              static_cast<long>(config_.request_timeout.count())) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, CheckInterrupted) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFODATA, &interrupted_) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, TlsHandshakeWatch::Install) == CURLE_OK;
  ok = ok && curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &handshake_) == CURLE_OK;
  if (!config_.tls.ca_file.empty()) {
    ok = ok && curl_easy_setopt(c, CURLOPT_CAINFO, config_.tls.ca_file.c_str()) == CURLE_OK;
  }
  if (!config_.tls.cert_file.empty()) {
    ok = ok && curl_easy_setopt(c, CURLOPT_SSLCERT, config_.tls.cert_file.c_str()) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SSLKEY, config_.tls.key_file.c_str()) == CURLE_OK;
  }
  if (config_.max_bytes_per_second > 0) {
    ok = ok && curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE,
                                static_cast<curl_off_t>(config_.max_bytes_per_second)) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, kPacedUploadBufferBytes) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody) == CURLE_OK;
    ok = ok && curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, SeekBody) == CURLE_OK;
  }
  if (!ok) return Internal("configuring libcurl for " + config_.url + " failed");
  return Status::Ok();
}

SendResult HttpsTransport::Send(const EncodedBatch& batch) {
  CURL* c = curl_.get();
  curl_slist* raw = nullptr;
  std::string idempotency = "Idempotency-Key: " + batch.batch_id;
  for (const char* h : {"Content-Type: application/vnd.tidegate.batch+flatbuffers",
                        "Content-Encoding: zstd", "Expect:", idempotency.c_str()}) {
    raw = curl_slist_append(raw, h);
  }
  std::unique_ptr<curl_slist, SlistFree> headers(raw);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  UploadCursor cursor{.body = batch.body, .offset = 0};
  if (config_.max_bytes_per_second > 0) {
    curl_easy_setopt(c, CURLOPT_READDATA, &cursor);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &cursor);
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, batch.body.data());
  }
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(batch.body.size()));
  response_.clear();
  error_buffer_[0] = '\0';
  handshake_.Reset();
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);

  SendResult result;
  if (rc != CURLE_OK) {
    result.kind = SendResult::Kind::kRetry;
    result.untrusted_peer =
        rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
    result.client_cert_refused = ClientCertificateRefused(handshake_, rc);
    result.reason = std::string(curl_easy_strerror(rc));
    if (error_buffer_[0]) result.reason += std::string(": ") + error_buffer_;
    return result;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t retry_after = 0;
  if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
    // Capped: a receiver cannot park the uplink for longer (and seconds -> ms cannot overflow).
    result.after = std::chrono::seconds(std::min<curl_off_t>(retry_after, kMaxRetryAfterS));
  }
  result.http_status = static_cast<int>(status);
  result.kind = ClassifyHttpStatus(status);
  if (result.kind != SendResult::Kind::kAcked) {
    result.reason = "HTTP " + std::to_string(status) + ": " + Printable(response_);
  }
  return result;
}

}  // namespace tidegate::uplink
