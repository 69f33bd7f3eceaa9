// SPDX-License-Identifier: Apache-2.0
#include "collector/serve_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "collector/intake/batch_intake.h"
#include "collector/intake/raw_archive.h"
#include "collector/intake/test_exit_after_land.h"
#include "collector/sources/http_server.h"
#include "collector/sources/mqtt_source.h"
#include "collector/store/open_landing_store.h"
#include "common/clock.h"
#include "common/log.h"

namespace tidegate::collector {
namespace {

void PrintError(const std::string& message) {
  fmt::print(stderr, "tidegate-collector: {}\n", message);
}

// Everything serve needs, in destruction order: the server stops using the endpoint and
// the store before they go away.
struct Running {
  std::unique_ptr<LandingStore> store;
  std::unique_ptr<RawArchive> raw;            // null without --keep-raw
  std::unique_ptr<FieldDecryptor> decryptor;  // null without --recipient-key
  // Never empty; no dictionary loaded without --dictionary. On the heap: the intake keeps a
  // pointer to it and Running is moved.
  std::unique_ptr<schema::DictionarySet> dictionaries;
  std::unique_ptr<BatchIntake> intake;
  std::unique_ptr<BatchEndpoint> endpoint;
  std::unique_ptr<OpampEndpoint> opamp;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<MqttSource> mqtt;  // null without --mqtt; stopped first
  int port = 0;
};

Result<Running> StartServer(const ServeOptions& options, const ListenAddress& address) {
  std::error_code ec;
  if (!IsPostgresUrl(options.store)) {
    std::filesystem::create_directories(options.store, ec);
    if (ec) return IOError("cannot create --store " + options.store + ": " + ec.message());
  }
  Running r;
  TG_ASSIGN_OR_RETURN(r.store, OpenLandingStore(options.store, RealClock(), false));
  if (!options.keep_raw_dir.empty()) {
    std::filesystem::create_directories(options.keep_raw_dir, ec);
    if (ec) {
      return IOError("cannot create --keep-raw " + options.keep_raw_dir + ": " + ec.message());
    }
    r.raw = std::make_unique<RawArchive>(options.keep_raw_dir);
  }
  if (!options.recipient_key.empty()) {
    TG_ASSIGN_OR_RETURN(FieldDecryptor decryptor, FieldDecryptor::Load(options.recipient_key));
    r.decryptor = std::make_unique<FieldDecryptor>(std::move(decryptor));
  }
  r.dictionaries = std::make_unique<schema::DictionarySet>();
  for (const std::string& path : options.dictionaries) {
    TG_RETURN_IF_ERROR(r.dictionaries->AddFile(path));
  }
  if (!r.dictionaries->empty()) {
    spdlog::info("zstd dictionaries loaded: IDs {}", fmt::join(r.dictionaries->ids(), ", "));
  }
  BatchIntake::Limits limits;
  limits.max_body_bytes = options.max_body_bytes;
  limits.max_decompressed_bytes = std::max(kDefaultMaxDecompressedBytes, options.max_body_bytes);
  r.intake = std::make_unique<BatchIntake>(*r.store, limits, r.raw.get(), r.decryptor.get(),
                                           r.dictionaries.get());
  r.endpoint = std::make_unique<BatchEndpoint>(*r.intake);
  HttpServerOptions http{.host = address.host,
                         .port = address.port,
                         .tls_cert = options.tls_cert,
                         .tls_key = options.tls_key,
                         .client_ca = options.client_ca};
  TG_ASSIGN_OR_RETURN(r.server, HttpServer::Create(http, *r.endpoint));
  if (!options.config_dir.empty() && !std::filesystem::is_directory(options.config_dir, ec)) {
    return NotFound("--config-dir " + options.config_dir + " is not a directory");
  }
  r.opamp = std::make_unique<OpampEndpoint>(*r.store, RealClock(),
                                            OpampEndpointOptions{.config_dir = options.config_dir});
  r.server->ServeOpamp(*r.opamp);
  TG_ASSIGN_OR_RETURN(r.port, r.server->Bind());
  if (!options.mqtt_url.empty()) {
    TG_ASSIGN_OR_RETURN(MqttBrokerUrl broker, ParseMqttBrokerUrl(options.mqtt_url));
    TG_ASSIGN_OR_RETURN(r.mqtt, MqttSource::Start({.broker = broker,
                                                   .group = options.mqtt_group,
                                                   .ca_file = options.mqtt_ca,
                                                   .cert_file = options.mqtt_cert,
                                                   .key_file = options.mqtt_key,
                                                   .client_id = options.mqtt_client_id},
                                                  *r.intake));
    r.endpoint->set_extra_stats([mqtt = r.mqtt.get()] { return mqtt->StatsJsonFields(); });
  }
  return r;
}

// Waits for SIGTERM/SIGINT (blocked in every thread, so only this sigwait sees them) and
// stops the server. SIGUSR1 is the internal wake-up when the server ended on its own.
void WaitForSignal(const sigset_t* signals, HttpServer* server, const std::atomic<bool>* done) {
  for (;;) {
    int sig = 0;
    if (sigwait(signals, &sig) != 0) continue;
    if (sig == SIGUSR1 && !done->load()) continue;
    if (sig != SIGUSR1) spdlog::info("received signal {}, shutting down", sig);
    server->Stop();
    return;
  }
}

// The --mqtt flags go together; a bad value is a usage error (exit 2) before anything starts.
Status CheckMqttFlags(const ServeOptions& o) {
  const bool any = !o.mqtt_group.empty() || !o.mqtt_ca.empty() || !o.mqtt_cert.empty() ||
                   !o.mqtt_key.empty() || !o.mqtt_client_id.empty();
  if (o.mqtt_url.empty()) {
    return any ? InvalidArgument("--mqtt-* flags need --mqtt mqtts://HOST:PORT") : Status::Ok();
  }
  TG_RETURN_IF_ERROR(ParseMqttBrokerUrl(o.mqtt_url).status());
  if (o.mqtt_group.empty()) return InvalidArgument("--mqtt needs --group NAME");
  TG_RETURN_IF_ERROR(ValidateGroupName(o.mqtt_group));
  for (const auto& [flag, value] :
       {std::pair{"--mqtt-ca", &o.mqtt_ca}, std::pair{"--mqtt-cert", &o.mqtt_cert},
        std::pair{"--mqtt-key", &o.mqtt_key}}) {
    if (value->empty()) return InvalidArgument(fmt::format("--mqtt needs {} FILE", flag));
  }
  if (o.mqtt_client_id.size() > 256) return InvalidArgument("--mqtt-client-id: at most 256 bytes");
  return Status::Ok();
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument(fmt::format("--listen '{}': expected HOST:PORT", text));
  }
  ListenAddress a;
  a.display_host = std::string(text.substr(0, colon));
  a.host = a.display_host;
  if (a.host.front() == '[') {
    if (a.host.size() < 3 || a.host.back() != ']') {
      return InvalidArgument(fmt::format("--listen '{}': unbalanced [ ] around the host", text));
    }
    a.host = a.host.substr(1, a.host.size() - 2);
  } else if (a.host.find(':') != std::string::npos) {
    return InvalidArgument(fmt::format("--listen '{}': write IPv6 hosts as [addr]:port", text));
  }
  std::string_view port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || a.port < 0 ||
      a.port > 65535) {
    return InvalidArgument(fmt::format("--listen '{}': port must be 0-65535", text));
  }
  return a;
}

Status WriteReadyFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr)
    return IOError("cannot write " + tmp + ": " + std::generic_category().message(errno));
  bool ok = std::fprintf(f, "%d\n", port) > 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return IOError("cannot write " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return IOError("cannot rename " + tmp + " to " + path + ": " +
                   std::generic_category().message(errno));
  }
  return Status::Ok();
}

int RunServe(const ServeOptions& options) {
  Result<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) {
    PrintError(address.status().message());
    return kExitUsage;
  }
  if (Status s = InitLogging(options.log_level, "tidegate-collector", options.log_format);
      !s.ok()) {
    PrintError(s.message());
    return kExitUsage;
  }
  if (Status s = CheckMqttFlags(options); !s.ok()) {
    PrintError(s.message());
    return kExitUsage;
  }
  if (std::optional<std::string> hook = ArmTestExitAfterLandFromEnvironment()) {
    spdlog::warn("{}", *hook);
  }
  // Blocked before any thread exists, so every httplib worker inherits the mask and the
  // signals reach only the sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<Running> running = StartServer(options, *address);
  if (!running.ok()) {
    PrintError(running.status().ToString());
    return kExitFailure;
  }
  HttpServer& server = *running->server;
  const char* scheme = server.tls() ? "https" : "http";
  fmt::print("tidegate-collector: listening on {}://{}:{}\n", scheme, address->display_host,
             running->port);
  std::fflush(stdout);
  if (!options.ready_file.empty()) {
    if (Status s = WriteReadyFile(options.ready_file, running->port); !s.ok()) {
      PrintError(s.ToString());
      return kExitFailure;
    }
  }
  if (!server.tls()) spdlog::warn("serving plain HTTP: for local testing only");

  std::atomic<bool> done{false};
  std::thread waiter(WaitForSignal, &signals, &server, &done);
  Status run = server.Run();
  done.store(true);
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  if (!run.ok()) {
    PrintError(run.ToString());
    return kExitFailure;
  }
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace tidegate::collector
