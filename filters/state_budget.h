// SPDX-License-Identifier: Apache-2.0
// StateBudget: the memory budget (buffer.state_max_bytes) shared by the per-key state of every
// aggregation: windows, devices, groups and their sketches. Each aggregation holds a
// StateAccount that records what every object it keeps is estimated to cost (the same
// estimate as tidegate_aggregate_state_bytes) and asks Admits() before it creates state for a
// new key; the refusal policy itself lives in the aggregator (filters/aggregator.h).
// Written on the buffer's writer thread only; used_bytes() and bytes() are readable anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace tidegate::filters {

class StateBudget {
 public:
  explicit StateBudget(uint64_t max_bytes) : max_bytes_(max_bytes) {}
  StateBudget(const StateBudget&) = delete;
  StateBudget& operator=(const StateBudget&) = delete;

  uint64_t max_bytes() const { return max_bytes_; }
  uint64_t used_bytes() const { return used_bytes_.load(std::memory_order_relaxed); }
  // True when state estimated at `more` bytes still fits within max_bytes.
  bool Admits(uint64_t more) const {
    const uint64_t used = used_bytes();
    return used <= max_bytes_ && more <= max_bytes_ - used;
  }

 private:
  friend class StateAccount;
  const uint64_t max_bytes_;
  std::atomic<uint64_t> used_bytes_{0};
};

// One aggregation's share of a StateBudget. Each kept object remembers what it was last
// charged (a uint64_t it owns); Set moves the account and the budget by the difference.
class StateAccount {
 public:
  // budget must outlive the account.
  explicit StateAccount(StateBudget* budget) : budget_(budget) {}
  StateAccount(const StateAccount&) = delete;
  StateAccount& operator=(const StateAccount&) = delete;
  ~StateAccount();  // returns whatever is still charged to the budget

  bool Admits(uint64_t more) const { return budget_->Admits(more); }
  // The object whose charge is *charged now costs `bytes`.
  void Set(uint64_t* charged, uint64_t bytes);
  // The object is gone.
  void Release(uint64_t* charged) { Set(charged, 0); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  const StateBudget& budget() const { return *budget_; }

 private:
  StateBudget* budget_;
  std::atomic<uint64_t> bytes_{0};
};

// Estimated heap bytes of a string beyond the object itself: nothing while it fits the
// small-string buffer, else its capacity plus the allocator's header.
inline uint64_t StringHeapBytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0;
}
// The same for a string of `size` characters not built yet.
inline uint64_t StringHeapBytes(size_t size) { return size > 15 ? size + 1 + 16 : 0; }

}  // namespace tidegate::filters
