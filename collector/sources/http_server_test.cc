// SPDX-License-Identifier: Apache-2.0
// The collector's HTTP front end, in process: real sockets, real TLS, a real landing store.
#include "collector/sources/http_server.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "collector/store/sqlite_landing_store.h"
#include "collector/test_util.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#include <httplib.h>
#pragma GCC diagnostic pop

namespace tidegate::collector {
namespace {

using testing::BuildBatch;
using testing::TestBatch;
using testing::Zstd;

class FixedClock : public Clock {
 public:
  int64_t NowUnixMs() override { return 1764000009000; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }
};

// A collector serving on 127.0.0.1:<free port> from a background thread until destroyed.
class Collector {
 public:
  explicit Collector(HttpServerOptions options = {},
                     BatchEndpoint::Limits limits = BatchEndpoint::Limits()) {
    auto store = SqliteLandingStore::Open(dir_.path(), clock_);
    REQUIRE(store.ok());
    store_ = std::move(store).value();
    intake_ = std::make_unique<BatchIntake>(*store_, limits);
    endpoint_ = std::make_unique<BatchEndpoint>(*intake_);
    options.host = "127.0.0.1";
    options.port = 0;
    auto server = HttpServer::Create(options, *endpoint_);
    INFO(server.status().ToString());
    REQUIRE(server.ok());
    server_ = std::move(server).value();
    auto port = server_->Bind();
    REQUIRE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }
  ~Collector() {
    server_->Stop();
    thread_.join();
  }
  int port() const { return port_; }
  LandingStore& store() { return *store_; }
  HttpServer& server() { return *server_; }

 private:
  testing::ScratchDir dir_;
  FixedClock clock_;
  std::unique_ptr<LandingStore> store_;
  std::unique_ptr<BatchIntake> intake_;
  std::unique_ptr<BatchEndpoint> endpoint_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::thread thread_;
  Status run_status_;
};

httplib::Headers BatchHeadersFor(const std::string& batch_id) {
  return {{"Content-Encoding", "zstd"}, {"Idempotency-Key", batch_id}};
}

template <typename Client>
httplib::Result PostBatch(Client& client, const TestBatch& spec) {
  return client.Post("/v1/batches", BatchHeadersFor(spec.batch_id), Zstd(BuildBatch(spec)),
                     kBatchContentType);
}

TEST_CASE("collector lands a batch over HTTP and acknowledges a duplicate", "[collector]") {
  Collector collector;
  httplib::Client client("127.0.0.1", collector.port());
  TestBatch spec;
  auto first = PostBatch(client, spec);
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body == R"({"status":"landed","batch_id":"gw-01-1","events":3,"window_results":0})"
                       "\n");
  auto second = PostBatch(client, spec);
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body == "{\"status\":\"duplicate\",\"batch_id\":\"gw-01-1\"}\n");
  auto stats = client.Get("/v1/stats");
  REQUIRE(stats);
  CHECK(stats->body == R"({"batches_landed":1,"batches_duplicate":1,"batches_rejected":0,)"
                       R"("events":3,"window_results":0,"batches_forbidden":0,)"
                       R"("batches_unknown_dictionary":0})"
                       "\n");
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok");
}

TEST_CASE("collector rejects bad batch requests with permanent 4xx codes", "[collector]") {
  Collector collector(HttpServerOptions{}, BatchEndpoint::Limits{.max_body_bytes = 4096});
  httplib::Client client("127.0.0.1", collector.port());
  TestBatch spec;
  std::string body = Zstd(BuildBatch(spec));
  auto post = [&](const httplib::Headers& headers, const std::string& payload,
                  const std::string& type = kBatchContentType) {
    auto res = client.Post("/v1/batches", headers, payload, type.c_str());
    REQUIRE(res);
    return res->status;
  };
  CHECK(post(BatchHeadersFor("gw-01-1"), body, "application/json") == 415);
  CHECK(post({{"Idempotency-Key", "gw-01-1"}}, body) == 415);
  CHECK(post({{"Content-Encoding", "gzip"}, {"Idempotency-Key", "gw-01-1"}}, body) == 415);
  CHECK(post({{"Content-Encoding", "zstd"}}, body) == 400);
  CHECK(post(BatchHeadersFor("other-id"), body) == 400);
  CHECK(post(BatchHeadersFor("gw-01-1"), BuildBatch(spec)) == 400);
  CHECK(post(BatchHeadersFor("gw-01-1"), Zstd("garbage garbage garbage")) == 400);
  CHECK(post(BatchHeadersFor("gw-01-1"), std::string(5000, 'x')) == 413);
  // After all those rejections on one keep-alive client a good batch still lands.
  CHECK(post(BatchHeadersFor("gw-01-1"), body) == 200);
  auto counts = collector.store().Counts();
  REQUIRE(counts.ok());
  CHECK(counts->batches_landed == 1);
  auto stats = client.Get("/v1/stats");
  REQUIRE(stats);
  CHECK(stats->body.find(R"("batches_rejected":8)") != std::string::npos);
}

TEST_CASE("collector answers 400 to a zstd bomb", "[collector]") {
  Collector collector;
  httplib::Client client("127.0.0.1", collector.port());
  std::string bomb = Zstd(std::string(size_t{100} << 20, '\0'));
  auto res = client.Post("/v1/batches", BatchHeadersFor("b"), bomb, kBatchContentType);
  REQUIRE(res);
  CHECK(res->status == 400);
}

TEST_CASE("collector serves HTTPS and enforces client certificates", "[collector]") {
  testing::ScratchDir certs_dir;
  auto certs = testing::MakeCerts(certs_dir.path());
  INFO(certs.status().ToString());
  REQUIRE(certs.ok());
  HttpServerOptions options{.tls_cert = certs->server_cert, .tls_key = certs->server_key};
  auto client_for = [&](int port, const std::string& cert, const std::string& key) {
    auto client = std::make_unique<httplib::SSLClient>("localhost", port, cert, key);
    client->set_ca_cert_path(certs->ca_cert.c_str());
    client->enable_server_certificate_verification(true);
    return client;
  };
  SECTION("server certificate only") {
    Collector collector(options);
    CHECK(collector.server().tls());
    auto client = client_for(collector.port(), "", "");
    auto res = PostBatch(*client, TestBatch{});
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  SECTION("client certificate required") {
    options.client_ca = certs->ca_cert;
    Collector collector(options);
    auto good = client_for(collector.port(), certs->client_cert, certs->client_key);
    // The client certificate's CN is tg-client: it may send tg-client's batches only.
    TestBatch mine;
    mine.agent_id = "tg-client";
    mine.batch_id = "tg-client-1";
    auto res = PostBatch(*good, mine);
    REQUIRE(res);
    CHECK(res->status == 200);
    auto other = PostBatch(*good, TestBatch{});  // agent gw-01
    REQUIRE(other);
    CHECK(other->status == 403);
    CHECK(other->body.find("does not name agent_id gw-01") != std::string::npos);
    auto stats = good->Get("/v1/stats");
    REQUIRE(stats);
    CHECK(stats->body.find(R"("batches_forbidden":1)") != std::string::npos);
    CHECK_FALSE(client_for(collector.port(), "", "")->Get("/healthz"));
    CHECK_FALSE(
        client_for(collector.port(), certs->stranger_cert, certs->stranger_key)->Get("/healthz"));
  }
  SECTION("a key that does not match the certificate") {
    options.tls_key = certs->client_key;
    testing::ScratchDir dir;
    FixedClock clock;
    auto store = SqliteLandingStore::Open(dir.path(), clock);
    REQUIRE(store.ok());
    BatchIntake intake(**store, {});
    BatchEndpoint endpoint(intake);
    auto server = HttpServer::Create(options, endpoint);
    REQUIRE_FALSE(server.ok());
    INFO(server.status().message());
    CHECK(server.status().message().find("--tls-key") != std::string::npos);
  }
}

TEST_CASE("HttpServer::Stop works before Run and while idle", "[collector]") {
  testing::ScratchDir dir;
  FixedClock clock;
  auto store = SqliteLandingStore::Open(dir.path(), clock);
  REQUIRE(store.ok());
  BatchIntake intake(**store, {});
  BatchEndpoint endpoint(intake);
  auto server = HttpServer::Create({.host = "127.0.0.1"}, endpoint);
  REQUIRE(server.ok());
  REQUIRE((*server)->Bind().ok());
  SECTION("before Run") {
    (*server)->Stop();
    CHECK((*server)->Run().ok());
  }
  SECTION("while running") {
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      (*server)->Stop();
    });
    CHECK((*server)->Run().ok());
    stopper.join();
  }
}

}  // namespace
}  // namespace tidegate::collector
