// SPDX-License-Identifier: Apache-2.0
// Fuzzes DecodeWindowResult (common/window_result.h), which reads window-result records back
// from the buffer before the uplink encodes them, with arbitrary bytes. Invariants: no crash
// and no allocation beyond what the input describes; a rejected input is kCorruption; an
// accepted one re-encodes to a record that decodes to the same encoding (stable round trip).
// WindowResultRevision (the header only) reads the same revision from every record
// DecodeWindowResult accepts, and fails only with kCorruption.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/window_result.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = tidegate::DecodeWindowResult(bytes);
  auto revision = tidegate::WindowResultRevision(bytes);
  TG_FUZZ_CHECK(revision.ok() || revision.status().code() == tidegate::StatusCode::kCorruption);
  if (!decoded.ok()) {
    TG_FUZZ_CHECK(decoded.status().code() == tidegate::StatusCode::kCorruption);
    return 0;
  }
  TG_FUZZ_CHECK(revision.ok() && *revision == decoded->revision);
  const std::string encoded = tidegate::EncodeWindowResult(*decoded);
  TG_FUZZ_CHECK(encoded.size() <= bytes.size());
  auto again = tidegate::DecodeWindowResult(encoded);
  TG_FUZZ_CHECK(again.ok());
  TG_FUZZ_CHECK(tidegate::EncodeWindowResult(*again) == encoded);
  return 0;
}
