// SPDX-License-Identifier: Apache-2.0
// Fuzzes QuantileSketch::Decode (filters/quantile_sketch.h), which reads window checkpoints
// back from SQLite, with arbitrary bytes. Invariants: no crash and no unbounded allocation; a
// rejected input is kCorruption; an accepted one is canonical (it re-encodes to the same
// bytes), answers every quantile in order, and merges with itself into an equal round trip.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "filters/quantile_sketch.h"
#include "fuzz/fuzz_check.h"

namespace {

using tidegate::filters::QuantileSketch;

void CheckAccepted(const QuantileSketch& sketch, std::string_view bytes) {
  TG_FUZZ_CHECK(sketch.Encode() == bytes);
  TG_FUZZ_CHECK(sketch.Quantile(0.5).has_value() == (sketch.count() > 0));
  double previous = -std::numeric_limits<double>::infinity();
  for (double q : {0.0, 0.01, 0.5, 0.95, 0.99, 1.0}) {
    const auto v = sketch.Quantile(q);
    if (!v) continue;
    TG_FUZZ_CHECK(std::isfinite(*v) && *v >= previous);
    previous = *v;
  }
  QuantileSketch doubled = sketch;
  if (doubled.Merge(sketch).ok()) {
    TG_FUZZ_CHECK(doubled.count() == 2 * sketch.count());
    auto again = QuantileSketch::Decode(doubled.Encode());
    TG_FUZZ_CHECK(again.ok() && *again == doubled);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = QuantileSketch::Decode(bytes);
  if (!decoded.ok()) {
    TG_FUZZ_CHECK(decoded.status().code() == tidegate::StatusCode::kCorruption);
    return 0;
  }
  CheckAccepted(*decoded, bytes);
  return 0;
}
