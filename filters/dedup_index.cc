// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_index.h"

#include <algorithm>
#include <limits>

#include "common/sat_time.h"

namespace tidegate::filters {
namespace {

constexpr size_t kMinSlots = 16;
constexpr size_t kMinRing = 16;

size_t SlotsFor(size_t keys) {
  size_t slots = kMinSlots;
  while (slots < keys * 2) slots *= 2;
  return slots;
}

}  // namespace

void DedupIndex::Load(const std::vector<std::pair<uint64_t, int64_t>>& keys) {
  Reserve(keys.size());
  for (const auto& [key, expires] : keys) Record(key, expires);
}

void DedupIndex::Reserve(size_t keys) {
  // +1: room for a filler entry should the sequence cross a 32-bit wrap.
  if (ring_.size() - (tail_ - head_) < keys + 1) ResizeRing(tail_ - head_ + keys + 1);
  if (slots_.size() < SlotsFor(keys_ + keys)) ResizeSlots(SlotsFor(keys_ + keys));
}

bool DedupIndex::SeenBefore(uint64_t key, int64_t now_ms, int64_t* expires_ms) {
  Expire(now_ms);
  if (!slots_.empty()) {
    const uint32_t stored = slots_[FindSlot(key)];
    if (stored != kEmptySlot && EntryAt(SeqOf(stored)).expires > now_ms) return true;
  }
  *expires_ms = SatAdd(now_ms, window_ms_);
  Record(key, *expires_ms);
  return false;
}

bool DedupIndex::Contains(uint64_t key, int64_t now_ms) const {
  if (slots_.empty()) return false;
  const uint32_t stored = slots_[FindSlot(key)];
  return stored != kEmptySlot && EntryAt(SeqOf(stored)).expires > now_ms;
}

size_t DedupIndex::memory_bytes() const {
  return ring_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(uint32_t);
}

void DedupIndex::Expire(int64_t now_ms) {
  while (head_ != tail_) {
    const bool expired = EntryAt(head_).expires <= now_ms;
    if (!expired && keys_ < max_keys_) break;
    if (!expired) ++evicted_;
    PopFront();
  }
  // Give memory back once a burst has passed (a quarter in use).
  const size_t in_ring = tail_ - head_;
  if (ring_.size() > 4 * kMinRing && in_ring < ring_.size() / 4) ResizeRing(in_ring * 2);
  if (slots_.size() > 4 * kMinSlots && keys_ * 8 < slots_.size()) ResizeSlots(SlotsFor(keys_));
}

// Makes (key, expires) the key's newest entry, whether or not the key is in the table.
void DedupIndex::Record(uint64_t key, int64_t expires) {
  if ((keys_ + 1) * 2 > slots_.size()) ResizeSlots(SlotsFor(keys_ + 1));  // at most half full
  const size_t slot = FindSlot(key);
  if (slots_[slot] == kEmptySlot) ++keys_;
  slots_[slot] = Append(key, expires);
}

uint32_t DedupIndex::Append(uint64_t key, int64_t expires) {
  if (static_cast<uint32_t>(tail_) == kEmptySlot) {
    // A filler: expired by construction, popped first, never found.
    if (tail_ - head_ == ring_.size()) ResizeRing(ring_.size() + ring_.size() / 2 + kMinRing);
    ring_[tail_ % ring_.size()] = Entry{0, std::numeric_limits<int64_t>::min()};
    ++tail_;
  }
  if (tail_ - head_ == ring_.size()) ResizeRing(ring_.size() + ring_.size() / 2 + kMinRing);
  ring_[tail_ % ring_.size()] = Entry{key, expires};
  return static_cast<uint32_t>(tail_++);
}

void DedupIndex::PopFront() {
  const Entry& front = EntryAt(head_);
  if (front.key != 0 && !slots_.empty()) {
    const size_t slot = FindSlot(front.key);
    // Erased only if this is the key's newest entry; a stale one leaves the key in place.
    if (slots_[slot] == static_cast<uint32_t>(head_)) EraseSlot(slot);
  }
  ++head_;
}

size_t DedupIndex::HomeSlot(uint64_t key) const {
  // Keys are already uniform (a keyed hash); the multiply spreads test keys like 1, 2, 3 too.
  return static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 32) & (slots_.size() - 1);
}

size_t DedupIndex::FindSlot(uint64_t key) const {
  const size_t mask = slots_.size() - 1;
  size_t slot = HomeSlot(key);
  while (slots_[slot] != kEmptySlot && EntryAt(SeqOf(slots_[slot])).key != key) {
    slot = (slot + 1) & mask;
  }
  return slot;
}

// Backward-shift deletion: later members of the probe run move up, so no tombstones.
void DedupIndex::EraseSlot(size_t slot) {
  const size_t mask = slots_.size() - 1;
  size_t hole = slot;
  for (size_t next = (hole + 1) & mask; slots_[next] != kEmptySlot; next = (next + 1) & mask) {
    const size_t home = HomeSlot(EntryAt(SeqOf(slots_[next])).key);
    // The entry at next may fill the hole unless its home lies cyclically in (hole, next].
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (!stays) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = kEmptySlot;
  --keys_;
}

void DedupIndex::ResizeRing(size_t capacity) {
  capacity = std::max(capacity, kMinRing);
  std::vector<Entry> ring(capacity);
  for (uint64_t seq = head_; seq != tail_; ++seq) ring[seq % capacity] = EntryAt(seq);
  ring_ = std::move(ring);
}

void DedupIndex::ResizeSlots(size_t count) {
  std::vector<uint32_t> old = std::move(slots_);
  slots_.assign(count, kEmptySlot);
  for (uint32_t stored : old) {
    if (stored == kEmptySlot) continue;
    size_t slot = HomeSlot(EntryAt(SeqOf(stored)).key);
    while (slots_[slot] != kEmptySlot) slot = (slot + 1) & (count - 1);
    slots_[slot] = stored;
  }
}

// The ring never holds 2^32 entries, so the low 32 bits name one seq in [head_, tail_).
uint64_t DedupIndex::SeqOf(uint32_t stored) const {
  return head_ + static_cast<uint32_t>(stored - static_cast<uint32_t>(head_));
}

}  // namespace tidegate::filters
