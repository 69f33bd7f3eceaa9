// SPDX-License-Identifier: Apache-2.0
// Helpers for the collector's own tests: wire batches built with FlatBufferBuilder, zstd
// compression, a scratch directory, and a CA plus server and client certificates made
// with the openssl CLI. Test-only; not thread-safe unless each caller uses its own objects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidegate::collector::testing {

struct TestWindow {
  std::string name = "temp_1m";
  std::string group_key = "dev-1";
  int64_t window_start = 1764000000000;
  uint32_t revision = 0;
  bool final = false;
  double count = 3;
  double avg = 20.5;
};

struct TestBatch {
  std::string agent_id = "gw-01";
  std::string batch_id = "gw-01-1";
  uint64_t first_seq = 1;
  uint32_t events = 3;              // seq first_seq.., payload {"n":<seq>}, every third one late
  std::string device_id = "dev-1";  // of every event (may hold any bytes, also NUL)
  std::vector<TestWindow> windows;
};

// The uncompressed FlatBuffers bytes (file identifier TGB1).
std::string BuildBatch(const TestBatch& spec);
std::string Zstd(std::string_view plain);

// A fresh directory under $TMPDIR or /tmp, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

struct Certs {
  std::string ca_cert;
  std::string server_cert;  // CN=localhost, SAN DNS:localhost, IP:127.0.0.1
  std::string server_key;
  std::string client_cert;  // signed by ca_cert
  std::string client_key;
  std::string stranger_cert;  // self-signed, trusted by nobody
  std::string stranger_key;
};

// Runs the openssl CLI in dir. kInternal names the command that failed.
Result<Certs> MakeCerts(const std::string& dir);

}  // namespace tidegate::collector::testing
