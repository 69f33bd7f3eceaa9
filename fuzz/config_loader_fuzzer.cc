// SPDX-License-Identifier: Apache-2.0
// Fuzzes the config loader (agent/config_loader.h) with arbitrary text as a YAML config.
// Invariants: no crash, hang or escaping exception; a refused config is kInvalidArgument with
// every line naming the file ("fuzz.yaml: ..." or "fuzz.yaml:LINE: ..."), never an internal
// error (a key read that the key table lacks); the same text gives the same verdict and the
// same config twice. The seeds (fuzz/seed_maker.cc) are configs of every key in the key table.
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "agent/config_loader.h"
#include "agent/yaml_reader.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const uint64_t internal_errors = tidegate::agent::InternalConfigErrorCount();
  auto first = tidegate::agent::ParseConfig(text, "fuzz.yaml");
  auto second = tidegate::agent::ParseConfig(text, "fuzz.yaml");
  TG_FUZZ_CHECK(tidegate::agent::InternalConfigErrorCount() == internal_errors);
  TG_FUZZ_CHECK(first.ok() == second.ok());
  if (first.ok()) {
    TG_FUZZ_CHECK(*first == *second);
    return 0;
  }
  TG_FUZZ_CHECK(first.status().code() == tidegate::StatusCode::kInvalidArgument);
  const std::string& message = first.status().message();
  TG_FUZZ_CHECK(message == second.status().message());
  std::istringstream lines(message);
  for (std::string line; std::getline(lines, line);) {
    TG_FUZZ_CHECK(line.rfind("fuzz.yaml:", 0) == 0);
  }
  return 0;
}
