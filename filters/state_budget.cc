// SPDX-License-Identifier: Apache-2.0
#include "filters/state_budget.h"

namespace tidegate::filters {

StateAccount::~StateAccount() {
  budget_->used_bytes_.fetch_sub(bytes(), std::memory_order_relaxed);
}

void StateAccount::Set(uint64_t* charged, uint64_t bytes) {
  // Wrapping unsigned arithmetic: adding the difference works in both directions.
  const uint64_t delta = bytes - *charged;
  *charged = bytes;
  bytes_.fetch_add(delta, std::memory_order_relaxed);
  budget_->used_bytes_.fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace tidegate::filters
