// SPDX-License-Identifier: Apache-2.0
#include "agent/idle_trim.h"

#include <malloc.h>

#include <utility>

namespace tidegate::agent {

IdleTrim::IdleTrim(std::function<void()> trim) : trim_(std::move(trim)) {
  if (!trim_) trim_ = [] { malloc_trim(0); };
}

void IdleTrim::Turn(uint64_t activity) {
  if (!seen_ || activity != last_) {
    seen_ = true;
    last_ = activity;
    trimmed_ = false;
    return;
  }
  if (trimmed_) return;
  trim_();
  trimmed_ = true;
}

}  // namespace tidegate::agent
