// SPDX-License-Identifier: Apache-2.0
// The zstd dictionary the batch fuzzer decompresses with (uplink.compression.dictionary on the
// receiving side) and its seed maker compresses a seed with: trained once, deterministically,
// from fixed telemetry-like samples, so the corpus seed and the fuzzer agree on its ID.
#pragma once

#include <string>

namespace tidegate::fuzz {

const std::string& BatchDictionary();

}  // namespace tidegate::fuzz
