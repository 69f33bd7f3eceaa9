// SPDX-License-Identifier: Apache-2.0
// The CPU time (user + system, every thread) the calling process has used so far, in
// microseconds: what the bench's load tools report per message (getrusage(RUSAGE_SELF)).
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace tidegate::bench {

inline int64_t ProcessCpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (static_cast<int64_t>(usage.ru_utime.tv_sec) + usage.ru_stime.tv_sec) * 1'000'000 +
         usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

}  // namespace tidegate::bench
