// SPDX-License-Identifier: Apache-2.0
#include "uplink/https_transport.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>

#include "uplink/uplink_worker.h"

namespace tidegate::uplink {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxResponseBytes = 512;  // enough for a reason; bodies are not trusted
constexpr int64_t kMaxRetryAfterS = 3600;  // 1 h, as uplink.retry.max at most

// Keeps only printable ASCII of a receiver's answer, so a log line stays one safe line.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  return out;
}

// Retry-After as seconds or as an HTTP date (RFC 9110 IMF-fixdate, as libcurl read it too),
// in seconds from now; 0 when absent, past or unreadable.
int64_t RetryAfterSeconds(const httplib::Headers& headers) {
  auto it = headers.find("Retry-After");
  if (it == headers.end()) return 0;
  const std::string& v = it->second;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec == std::errc::result_out_of_range) return kMaxRetryAfterS;
  if (ec == std::errc() && end == v.data() + v.size()) return seconds;
  std::tm tm{};
  const char* rest = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return 0;
  return std::max<int64_t>(0, static_cast<int64_t>(timegm(&tm)) - std::time(nullptr));
}

}  // namespace

size_t HttpsConnections(const UplinkSection& config, uint64_t buffer_data_bytes) {
  if (config.max_bytes_per_second > 0) return 1;
  if (buffer_data_bytes == 0) return kHttpsConnections;
  const uint64_t batches = buffer_data_bytes / 8 / std::max<uint64_t>(config.batch_max_bytes, 1);
  // Each connection holds its batch on the wire and the preparing thread one more ahead of it.
  size_t connections = 1;
  while (connections < kHttpsConnections &&
         connections + 1 + UplinkWorker::PipelineDepth(connections + 1) <= batches) {
    ++connections;
  }
  return connections;
}

SendResult::Kind ClassifyHttpStatus(long status) {
  if (status >= 200 && status < 300) return SendResult::Kind::kAcked;
  if (status == 408 || status == 429 || status >= 500) return SendResult::Kind::kRetry;
  if (status >= 400) return SendResult::Kind::kRejected;
  return SendResult::Kind::kRetry;  // 1xx/3xx: a misconfigured receiver, try again later
}

Result<std::unique_ptr<HttpsTransport>> HttpsTransport::Create(const UplinkSection& config) {
  // Each wait for the socket is bounded by what is left of request_timeout (post.deadline);
  // the body provider and the answer's receiver check the deadline between pieces.
  TG_ASSIGN_OR_RETURN(
      std::unique_ptr<net::HttpClient> client,
      net::HttpClient::Create(
          config.url, {.tls = config.tls,
                       .connect_timeout = std::min(config.connect_timeout, config.request_timeout),
                       .io_timeout = config.request_timeout}));
  std::unique_ptr<HttpsTransport> transport(new HttpsTransport(config, std::move(client)));
  if (SSL_CTX* ctx = transport->client_->ssl_context()) {
    TlsHandshakeWatch::Install(ctx, &transport->handshake_);
  }
  return transport;
}

void HttpsTransport::Interrupt() {
  client_->Stop();
  pacer_.Interrupt();
}

SendResult HttpsTransport::Send(const EncodedBatch& batch) {
  const Clock::time_point deadline = Clock::now() + config_.request_timeout;
  const bool paced = config_.max_bytes_per_second > 0;
  bool timed_out = false;  // by the pacer, which gives up before the deadline passes
  std::string response;    // first bytes of the answer's body, for the reason
  const std::string_view body = batch.body;

  net::HttpPost post;
  post.headers = {{"Content-Type", "application/vnd.tidegate.batch+flatbuffers"},
                  {"Content-Encoding", "zstd"},
                  {"Idempotency-Key", batch.batch_id}};
  post.content_length = body.size();
  post.deadline = deadline;
  post.body = [&](size_t offset, size_t length, httplib::DataSink& sink) {
    size_t n = length;
    if (paced) {
      n = pacer_.PieceBytes(length);
      if (!pacer_.Take(n, deadline)) {
        timed_out = !client_->stopped();
        return false;
      }
    }
    sink.write(body.data() + offset, n);  // a failed write is reported as such by httplib
    return true;
  };
  post.receive = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (response.size() < kMaxResponseBytes) {
      response.append(data, std::min(n, kMaxResponseBytes - response.size()));
    }
    return true;
  };
  handshake_.Reset();
  if (paced) pacer_.Start();
  net::HttpAnswer answer = client_->Post(post, [&] { return Clock::now() < deadline; });

  SendResult result;
  if (answer.error != httplib::Error::Success) {
    result.kind = SendResult::Kind::kRetry;
    result.untrusted_peer = answer.error == httplib::Error::SSLServerVerification;
    const bool dropped = answer.status == 0 && (answer.error == httplib::Error::Read ||
                                                answer.error == httplib::Error::Write ||
                                                answer.error == httplib::Error::SSLConnection);
    result.client_cert_refused = ClientCertificateRefused(handshake_, dropped);
    result.reason = net::DescribeHttpError(answer);
    // The deadline passed (net::HttpClient stops the callbacks and socket waits there), or
    // the pacer found it would pass before the next piece could go.
    if (timed_out || Clock::now() >= deadline) result.reason += ": uplink.request_timeout reached";
    if (client_->stopped()) result.reason += ": the uplink is stopping";
    return result;
  }
  if (const int64_t retry_after = RetryAfterSeconds(answer.headers); retry_after > 0) {
    // Capped: a receiver cannot park the uplink for longer (and seconds -> ms cannot overflow).
    result.after = std::chrono::seconds(std::min(retry_after, kMaxRetryAfterS));
  }
  result.http_status = answer.status;
  result.kind = ClassifyHttpStatus(answer.status);
  if (result.kind != SendResult::Kind::kAcked) {
    result.reason = "HTTP " + std::to_string(answer.status) + ": " + Printable(response);
  }
  return result;
}

}  // namespace tidegate::uplink
