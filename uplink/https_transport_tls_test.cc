// SPDX-License-Identifier: Apache-2.0
// HttpsTransport against a real TLS receiver in the test (cpp-httplib's SSLServer) with
// certificates made by the openssl CLI: what goes on the wire, verification both ways,
// Retry-After, the pacing of uplink.max_bytes_per_second and Interrupt().
#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

#include "tests/support/certs.h"
#include "tests/support/temp_dir.h"
#include "uplink/https_transport.h"

namespace tidegate::uplink {
namespace {

using Kind = SendResult::Kind;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// A TLS receiver on 127.0.0.1 that answers POST /v1/batches with `handler`.
class Receiver {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  Receiver(const testing::TestCerts& certs, bool require_client_cert, Handler handler)
      : server_(certs.server_cert.c_str(), certs.server_key.c_str(),
                require_client_cert ? certs.ca_cert.c_str() : nullptr) {
    std::signal(SIGPIPE, SIG_IGN);
    REQUIRE(server_.is_valid());
    server_.Post("/v1/batches", std::move(handler));
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(5));
    server_.stop();
    thread_.join();
  }
  std::string Url(const char* host = "localhost") const {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + "/v1/batches";
  }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

struct Fixture {
  testing::TempDir dir{"https-transport"};
  testing::TestCerts certs;
  Fixture() {
    auto made = testing::MakeTestCerts(dir.path());
    REQUIRE(made.ok());
    certs = *made;
  }
  UplinkSection Config(const std::string& url) const {
    UplinkSection config;
    config.url = url;
    config.tls.ca_file = certs.ca_cert;
    config.connect_timeout = milliseconds(5000);
    config.request_timeout = milliseconds(10000);
    return config;
  }
};

EncodedBatch Batch(std::string id, size_t bytes) {
  EncodedBatch batch;
  batch.batch_id = std::move(id);
  batch.body.assign(bytes, 'z');
  return batch;
}

std::unique_ptr<HttpsTransport> Make(const UplinkSection& config) {
  auto transport = HttpsTransport::Create(config);
  REQUIRE(transport.ok());
  return std::move(*transport);
}

TEST_CASE("a batch is POSTed with its headers and body over verified TLS, on one connection",
          "[uplink]") {
  Fixture f;
  std::mutex mu;
  std::vector<httplib::Request> seen;
  Receiver receiver(f.certs, true, [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(req);
    res.status = 200;
  });
  UplinkSection config = f.Config(receiver.Url());
  config.tls.cert_file = f.certs.client_cert;
  config.tls.key_file = f.certs.client_key;
  auto transport = Make(config);
  for (int i = 0; i < 3; ++i) {
    SendResult result = transport->Send(Batch("batch-" + std::to_string(i), 70'000));
    CHECK(result.kind == Kind::kAcked);
    CHECK(result.http_status == 200);
  }
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].get_header_value("Content-Type") == "application/vnd.tidegate.batch+flatbuffers");
  CHECK(seen[2].get_header_value("Content-Encoding") == "zstd");
  CHECK(seen[2].get_header_value("Idempotency-Key") == "batch-2");
  CHECK(seen[2].body == std::string(70'000, 'z'));
  // Kept alive: every request came from the same client port.
  CHECK(seen[0].remote_port == seen[2].remote_port);
}

TEST_CASE("a receiver whose certificate does not verify against uplink.tls.ca_file is untrusted",
          "[uplink]") {
  Fixture f;
  Receiver receiver(f.certs, false,
                    [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  UplinkSection other_ca = f.Config(receiver.Url());
  other_ca.tls.ca_file = f.certs.untrusted_ca_cert;
  SendResult result = Make(other_ca)->Send(Batch("b", 10));
  CHECK(result.kind == Kind::kRetry);
  CHECK(result.untrusted_peer);
  CHECK_FALSE(result.reason.empty());
  // The right CA, reached by its IP address: the certificate's IP subjectAltName matches.
  CHECK(Make(f.Config(receiver.Url("127.0.0.1")))->Send(Batch("b", 10)).kind == Kind::kAcked);
}

// A server certificate from the trusted CA for another host only (DNS:elsewhere.test).
testing::CertAndKey OtherHostCert(const testing::TempDir& dir, const testing::TestCerts& certs) {
  const std::string key = dir.File("other.key"), csr = dir.File("other.csr");
  const std::string crt = dir.File("other.crt"), ext = dir.File("other.ext");
  REQUIRE(
      std::system(
          ("printf 'subjectAltName=DNS:elsewhere.test\\nextendedKeyUsage=serverAuth\\n' >" + ext)
              .c_str()) == 0);
  REQUIRE(std::system(("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                       "-subj /CN=elsewhere.test -keyout " +
                       key + " -out " + csr + " 2>/dev/null")
                          .c_str()) == 0);
  REQUIRE(std::system(("openssl x509 -req -in " + csr + " -CA " + certs.ca_cert + " -CAkey " +
                       certs.ca_key + " -set_serial 77 -days 10 -extfile " + ext + " -out " + crt +
                       " 2>/dev/null")
                          .c_str()) == 0);
  return {.cert = crt, .key = key};
}

TEST_CASE("a receiver whose certificate names another host is untrusted", "[uplink]") {
  Fixture f;
  testing::TestCerts other = f.certs;
  testing::CertAndKey cert = OtherHostCert(f.dir, f.certs);
  other.server_cert = cert.cert;
  other.server_key = cert.key;
  Receiver receiver(other, false,
                    [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  for (const char* host : {"localhost", "127.0.0.1"}) {
    SendResult result = Make(f.Config(receiver.Url(host)))->Send(Batch("b", 10));
    INFO(host << ": " << result.reason);
    CHECK(result.kind == Kind::kRetry);
    CHECK(result.untrusted_peer);
  }
}

TEST_CASE("a receiver that refuses our client certificate is told apart from other failures",
          "[uplink]") {
  Fixture f;
  Receiver receiver(f.certs, true,
                    [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  UplinkSection config = f.Config(receiver.Url());  // no client certificate configured
  SendResult result = Make(config)->Send(Batch("b", 10));
  INFO(result.reason);
  CHECK(result.kind == Kind::kRetry);
  CHECK(result.client_cert_refused);
  CHECK_FALSE(result.untrusted_peer);
  config.tls.cert_file = f.certs.untrusted_client_cert;  // another CA's certificate
  config.tls.key_file = f.certs.untrusted_client_key;
  result = Make(config)->Send(Batch("b", 10));
  INFO(result.reason);
  CHECK(result.client_cert_refused);
}

TEST_CASE(
    "Retry-After (seconds or a date) is honoured up to an hour and the reason keeps 512 bytes",
    "[uplink]") {
  Fixture f;
  std::mutex mu;
  std::string retry_after = "7";
  auto set_retry_after = [&](std::string value) {
    std::lock_guard<std::mutex> lock(mu);
    retry_after = std::move(value);
  };
  Receiver receiver(f.certs, false, [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    res.status = 503;
    res.set_header("Retry-After", retry_after);
    res.set_content(std::string("busy\n\x01") + std::string(2000, 'x'), "text/plain");
  });
  auto transport = Make(f.Config(receiver.Url()));
  SendResult result = transport->Send(Batch("b", 10));
  CHECK(result.kind == Kind::kRetry);
  CHECK(result.http_status == 503);
  CHECK(result.after == std::chrono::seconds(7));
  // "\n" and "\x01" of the body each become a space: the reason stays one printable line.
  CHECK(result.reason.rfind("HTTP 503: busy  " + std::string(506, 'x'), 0) == 0);
  CHECK(result.reason.size() == std::string("HTTP 503: ").size() + 512);
  set_retry_after("999999");
  CHECK(transport->Send(Batch("b", 10)).after == std::chrono::hours(1));
  // An HTTP date a minute ahead.
  const std::time_t at = std::time(nullptr) + 60;
  char date[64];
  std::tm tm{};
  gmtime_r(&at, &tm);
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  set_retry_after(date);
  const auto after = transport->Send(Batch("b", 10)).after;
  INFO(date);
  CHECK(after >= std::chrono::seconds(55));
  CHECK(after <= std::chrono::seconds(60));
}

TEST_CASE("max_bytes_per_second paces the body of a request", "[uplink]") {
  Fixture f;
  Receiver receiver(f.certs, false,
                    [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  UplinkSection config = f.Config(receiver.Url());
  config.max_bytes_per_second = 64 * 1024;
  auto transport = Make(config);
  const auto start = Steady::now();
  CHECK(transport->Send(Batch("b", 96 * 1024)).kind == Kind::kAcked);
  const auto took = std::chrono::duration_cast<milliseconds>(Steady::now() - start);
  // The first 8 KiB piece leaves at once, the other 88 KiB at 64 KiB/s: at least 1.375 s.
  INFO("took " << took.count() << " ms");
  CHECK(took >= milliseconds(1375));
}

TEST_CASE("a receiver that never answers is given up at request_timeout, saying so", "[uplink]") {
  Fixture f;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  Receiver receiver(f.certs, false, [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    res.status = 200;
  });
  UplinkSection config = f.Config(receiver.Url());
  config.request_timeout = milliseconds(1000);
  auto transport = Make(config);
  const auto start = Steady::now();
  SendResult result = transport->Send(Batch("b", 10));
  const auto took = std::chrono::duration_cast<milliseconds>(Steady::now() - start);
  INFO(result.reason << "; took " << took.count() << " ms");
  CHECK(result.kind == Kind::kRetry);
  CHECK(result.reason.find("uplink.request_timeout reached") != std::string::npos);
  CHECK(took >= milliseconds(1000));
  CHECK(took < milliseconds(1900));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

TEST_CASE("Interrupt() ends a send in flight at once and every later one", "[uplink]") {
  Fixture f;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  HttpsTransport* target = nullptr;
  Receiver receiver(f.certs, false, [&](const httplib::Request&, httplib::Response& res) {
    target->Interrupt();  // the request is in flight now: its connection gets shut down
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    res.status = 200;
  });
  UplinkSection config = f.Config(receiver.Url());
  config.request_timeout = milliseconds(60'000);
  auto transport = Make(config);
  target = transport.get();
  const auto start = Steady::now();
  SendResult result = transport->Send(Batch("b", 10));
  CHECK(Steady::now() - start < milliseconds(5000));
  CHECK(result.kind == Kind::kRetry);
  CHECK(transport->Send(Batch("b", 10)).kind == Kind::kRetry);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

}  // namespace
}  // namespace tidegate::uplink
