// SPDX-License-Identifier: Apache-2.0
// zstd dictionaries for tests of uplink.compression.dictionary: one trained here (libzstd's
// ZDICT on generated telemetry-like JSON, deterministic), and frames compressed with one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tidegate::testing {

// A real zstd dictionary (zstd dictionary format, non-zero ID) of at most max_bytes, trained
// on JSON events like the simulator's. `variant` changes the samples, and so the ID.
std::string TrainTestDictionary(uint32_t variant = 0, size_t max_bytes = 8192);

// The dictionary ID written in the header of `dictionary`.
uint32_t TestDictionaryId(std::string_view dictionary);

// One zstd frame of plain at level 3 with `dictionary` (its ID in the frame header).
std::string CompressWithDictionary(std::string_view plain, std::string_view dictionary);

// The dictionary ID a zstd frame's header names; 0 for none (or not a frame).
uint32_t FrameDictionaryId(std::string_view frame);

}  // namespace tidegate::testing
