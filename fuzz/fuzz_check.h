// SPDX-License-Identifier: Apache-2.0
// TG_FUZZ_CHECK: an invariant check for fuzz targets that holds in every build type (assert is
// compiled out under NDEBUG) and aborts, so libFuzzer and the replay main both report the input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define TG_FUZZ_CHECK(cond)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
