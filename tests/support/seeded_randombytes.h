// SPDX-License-Identifier: Apache-2.0
// SeededRandombytes: libsodium's randomness replaced by a fixed stream, for programs whose runs
// must repeat byte for byte: fuzzers (one input, one path) and the deterministic bench tools.
// Call n draws randombytes_buf_deterministic with the seed n (little-endian in its first 8
// bytes), so keys, data keys and nonces are the same at every run. Header-only, so a fuzzer
// links nothing of the test support. Never for the product: these "random" bytes are public.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tidegate::testing {

class SeededRandombytes {
 public:
  // Makes it libsodium's randomness. REQUIRES: before the first sodium_init(), which fixes
  // the implementation; false if libsodium refuses it.
  static bool Install() { return randombytes_set_implementation(&implementation) == 0; }
  // The stream starts again from call 0 (a fuzzer, before each input).
  static void Restart() { calls = 0; }

 private:
  static void Buf(void* const buf, const size_t size) {
    unsigned char seed[randombytes_SEEDBYTES] = {};
    std::memcpy(seed, &calls, sizeof calls);
    ++calls;
    randombytes_buf_deterministic(buf, size, seed);
  }
  static uint32_t Random() {
    uint32_t value = 0;
    Buf(&value, sizeof value);
    return value;
  }
  static const char* Name() { return "tidegate seeded"; }

  static inline uint64_t calls = 0;
  static inline randombytes_implementation implementation = {.implementation_name = Name,
                                                             .random = Random,
                                                             .stir = nullptr,
                                                             .uniform = nullptr,
                                                             .buf = Buf,
                                                             .close = nullptr};
};

}  // namespace tidegate::testing
