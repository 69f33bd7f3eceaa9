// SPDX-License-Identifier: Apache-2.0
#include "collector/test_util.h"

#include <fmt/format.h>
#include <zstd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "schema/tidegate_batch_generated.h"

namespace tidegate::collector::testing {
namespace {

namespace wire = ::tidegate::wire;

flatbuffers::Offset<wire::WindowResult> BuildWindow(flatbuffers::FlatBufferBuilder& fbb,
                                                    const TestWindow& w, uint64_t seq) {
  std::vector<flatbuffers::Offset<wire::Stat>> stats = {
      wire::CreateStatDirect(fbb, "count", w.count), wire::CreateStatDirect(fbb, "avg", w.avg)};
  std::vector<flatbuffers::Offset<wire::Measure>> measures = {
      wire::CreateMeasureDirect(fbb, "/temp", &stats)};
  return wire::CreateWindowResultDirect(fbb, seq, w.name.c_str(), w.group_key.c_str(),
                                        w.window_start, w.window_start + 60000, w.revision, w.final,
                                        &measures);
}

Status Run(const std::string& dir, const std::string& command) {
  std::string full = fmt::format("cd '{}' && {} >openssl.log 2>&1", dir, command);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): called by a test before it starts any thread
  if (std::system(full.c_str()) != 0) return Internal("failed: " + command);
  return Status::Ok();
}

}  // namespace

std::string BuildBatch(const TestBatch& spec) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::Event>> events;
  for (uint32_t i = 0; i < spec.events; ++i) {
    uint64_t seq = spec.first_seq + i;
    std::string payload = fmt::format(R"({{"n": {}}})", seq);
    uint32_t flags = i % 3 == 2 ? static_cast<uint32_t>(wire::EventFlag::Late) : 0;
    events.push_back(wire::CreateEvent(
        fbb, seq, fbb.CreateString("site/a/dev-1/telemetry"), fbb.CreateString(spec.device_id),
        1764000000000 + static_cast<int64_t>(seq), 1764000001000 + static_cast<int64_t>(seq), flags,
        fbb.CreateString(payload)));
  }
  std::vector<flatbuffers::Offset<wire::WindowResult>> windows;
  for (size_t i = 0; i < spec.windows.size(); ++i) {
    windows.push_back(BuildWindow(fbb, spec.windows[i], spec.first_seq + spec.events + i));
  }
  auto root = wire::CreateBatchDirect(fbb, 1, spec.agent_id.c_str(), spec.batch_id.c_str(),
                                      spec.first_seq, spec.first_seq + spec.events, 1764000002000,
                                      nullptr, &events, &windows);
  wire::FinishBatchBuffer(fbb, root);
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string Zstd(std::string_view plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3);
  if (ZSTD_isError(n)) std::abort();  // only with a broken libzstd
  out.resize(n);
  return out;
}

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): tests do not setenv
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/tg-collector-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) std::abort();  // no temp dir: environment failure
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<Certs> MakeCerts(const std::string& dir) {
  const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  {
    std::ofstream ext(dir + "/server.ext");
    ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    std::ofstream client_ext(dir + "/client.ext");
    client_ext << "extendedKeyUsage=clientAuth\n";
  }
  for (const std::string& cmd : {
           "openssl req -x509 " + ec_key + " -keyout ca.key -out ca.pem -days 3650 -subj /CN=tg-ca",
           "openssl req " + ec_key + " -keyout server.key -out server.csr -subj /CN=localhost",
           std::string("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                       " -out server.pem -days 3650 -extfile server.ext"),
           "openssl req " + ec_key + " -keyout client.key -out client.csr -subj /CN=tg-client",
           std::string("openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                       " -out client.pem -days 3650 -extfile client.ext"),
           "openssl req -x509 " + ec_key +
               " -keyout stranger.key -out stranger.pem -days 3650 -subj /CN=stranger",
       }) {
    TG_RETURN_IF_ERROR(Run(dir, cmd));
  }
  return Certs{.ca_cert = dir + "/ca.pem",
               .server_cert = dir + "/server.pem",
               .server_key = dir + "/server.key",
               .client_cert = dir + "/client.pem",
               .client_key = dir + "/client.key",
               .stranger_cert = dir + "/stranger.pem",
               .stranger_key = dir + "/stranger.key"};
}

}  // namespace tidegate::collector::testing
