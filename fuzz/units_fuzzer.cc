// SPDX-License-Identifier: Apache-2.0
// Fuzzes the config's duration and size parsers (common/units.h) with arbitrary text.
// Invariants: no crash or overflow (UBSan); a rejected input is kInvalidArgument; an accepted
// duration is not negative, and the same text parses to the same value twice.
#include <cstdint>
#include <string_view>

#include "common/units.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto duration = tidegate::ParseDuration(text);
  if (duration.ok()) {
    TG_FUZZ_CHECK(duration->count() >= 0);
    TG_FUZZ_CHECK(*tidegate::ParseDuration(text) == *duration);
  } else {
    TG_FUZZ_CHECK(duration.status().code() == tidegate::StatusCode::kInvalidArgument);
  }
  auto bytes = tidegate::ParseSize(text);
  if (!bytes.ok()) {
    TG_FUZZ_CHECK(bytes.status().code() == tidegate::StatusCode::kInvalidArgument);
  }
  return 0;
}
