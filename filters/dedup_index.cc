// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_index.h"

#include <algorithm>
#include <limits>

#include "common/sat_time.h"

namespace tidegate::filters {
namespace {

constexpr size_t kMinSlots = 16;
// How far ahead Restore prefetches: enough table lines in flight to cover a memory latency.
constexpr size_t kPrefetchAhead = 16;

size_t SlotsFor(size_t keys) {
  size_t slots = kMinSlots;
  while (slots < keys * 2) slots *= 2;
  return slots;
}

}  // namespace

void DedupIndex::Load(const std::vector<std::pair<uint64_t, int64_t>>& keys) {
  Reserve(keys.size());
  Restore(keys);
}

void DedupIndex::Reserve(size_t keys) {
  // +1: room for a filler entry should the sequence cross a 32-bit wrap.
  ReserveBlocks(keys + 1);
  if (slots_.size() < SlotsFor(keys_ + keys)) ResizeSlots(SlotsFor(keys_ + keys));
}

void DedupIndex::Restore(std::span<const std::pair<uint64_t, int64_t>> keys) {
  if ((keys_ + keys.size()) * 2 > slots_.size()) ResizeSlots(SlotsFor(keys_ + keys.size()));
  // Two stages: a key's home slot first, then, half way, the ring entry it holds (compared
  // against the key when the slot is taken).
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i + kPrefetchAhead < keys.size()) {
      __builtin_prefetch(&slots_[HomeSlot(keys[i + kPrefetchAhead].first)]);
    }
    if (i + kPrefetchAhead / 2 < keys.size()) {
      const uint32_t stored = slots_[HomeSlot(keys[i + kPrefetchAhead / 2].first)];
      if (stored != kEmptySlot) __builtin_prefetch(&EntryAt(SeqOf(stored)));
    }
    Record(keys[i].first, keys[i].second);
  }
}

bool DedupIndex::SeenBefore(uint64_t key, int64_t now_ms, int64_t* expires_ms) {
  Expire(now_ms);
  if (!slots_.empty()) {
    const uint32_t stored = slots_[FindSlot(key)];
    if (stored != kEmptySlot && ExpiresAt(SeqOf(stored)) > now_ms) return true;
  }
  *expires_ms = SatAdd(now_ms, window_ms_);
  Record(key, *expires_ms);
  return false;
}

bool DedupIndex::Contains(uint64_t key, int64_t now_ms) const {
  if (slots_.empty()) return false;
  const uint32_t stored = slots_[FindSlot(key)];
  return stored != kEmptySlot && ExpiresAt(SeqOf(stored)) > now_ms;
}

size_t DedupIndex::memory_bytes() const {
  const size_t blocks = blocks_.size() + (spare_block_ != nullptr ? 1 : 0);
  return blocks * sizeof(Block) + blocks_.capacity() * sizeof(blocks_[0]) +
         slots_.capacity() * sizeof(uint32_t);
}

void DedupIndex::Expire(int64_t now_ms) {
  while (head_ != tail_) {
    const bool expired = ExpiresAt(head_) <= now_ms;
    if (!expired && keys_ < max_keys_ && tail_ - head_ < kMaxSpan) break;
    if (!expired) ++evicted_;
    PopFront();
  }
  // Give the table back once a burst has passed (an eighth in use); the ring shrinks by itself.
  if (slots_.size() > 4 * kMinSlots && keys_ * 8 < slots_.size()) ResizeSlots(SlotsFor(keys_));
}

// Makes (key, expires) the key's newest entry, whether or not the key is in the table.
void DedupIndex::Record(uint64_t key, int64_t expires) {
  if ((keys_ + 1) * 2 > slots_.size()) ResizeSlots(SlotsFor(keys_ + 1));  // at most half full
  while (tail_ - head_ >= kMaxSpan) {  // only a restore gets here (SeenBefore expires first)
    if (PopFront()) ++evicted_;
  }
  const size_t slot = FindSlot(key);
  if (slots_[slot] == kEmptySlot) ++keys_;
  slots_[slot] = SlotOf(Append(key, expires), key);
}

uint64_t DedupIndex::Append(uint64_t key, int64_t expires) {
  for (;;) {
    // A filler takes the sequence number whose low bits mean an empty slot.
    if ((tail_ & kSeqMask) == kSeqMask) AppendFiller();
    ReserveBlocks(1);
    Block& block = BlockOf(tail_);
    if (!block.has_base) {
      block.base = expires;
      block.has_base = true;
    }
    int64_t delta = 0;
    if (!__builtin_sub_overflow(expires, block.base, &delta) &&
        delta >= std::numeric_limits<int32_t>::min() &&
        delta <= std::numeric_limits<int32_t>::max()) {
      EntryAt(tail_) = Entry{key, static_cast<int32_t>(delta)};
      return tail_++;
    }
    // Too far from this block's base: the key starts the next block.
    do AppendFiller();
    while ((tail_ & (kBlockEntries - 1)) != 0);
  }
}

// A filler: expired by construction, popped first, never found.
void DedupIndex::AppendFiller() {
  ReserveBlocks(1);
  EntryAt(tail_++) = Entry{0, 0};
}

int64_t DedupIndex::ExpiresAt(uint64_t seq) const {
  const Block& block = BlockOf(seq);
  const Entry& entry = block.entries[seq & (kBlockEntries - 1)];
  if (entry.key == 0) return std::numeric_limits<int64_t>::min();
  return block.base + entry.expires_delta;
}

bool DedupIndex::PopFront() {
  const Entry& front = EntryAt(head_);
  bool erased = false;
  if (front.key != 0 && !slots_.empty()) {
    const size_t slot = FindSlot(front.key);
    // Erased only if this is the key's newest entry; a stale one leaves the key in place.
    if (slots_[slot] == SlotOf(head_, front.key)) {
      EraseSlot(slot);
      erased = true;
    }
  }
  ++head_;
  if ((head_ >> kBlockBits) > first_block_) {  // the first block is empty now
    spare_block_ = std::move(blocks_.front());
    blocks_.erase(blocks_.begin());
    ++first_block_;
  }
  return erased;
}

size_t DedupIndex::HomeSlot(uint64_t key) const {
  // Keys are already uniform (a keyed hash); the multiply spreads test keys like 1, 2, 3 too.
  return static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 32) & (slots_.size() - 1);
}

size_t DedupIndex::FindSlot(uint64_t key) const {
  const size_t mask = slots_.size() - 1;
  size_t slot = HomeSlot(key);
  const uint32_t fingerprint = Fingerprint(key);
  while (slots_[slot] != kEmptySlot &&
         (slots_[slot] >> kSeqBits != fingerprint || EntryAt(SeqOf(slots_[slot])).key != key)) {
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

// Makes room for entries more entries after tail_, a block at a time.
void DedupIndex::ReserveBlocks(size_t entries) {
  if (entries == 0) return;
  const uint64_t last_block = (tail_ + entries - 1) >> kBlockBits;
  while (first_block_ + blocks_.size() <= last_block) {
    blocks_.push_back(spare_block_ != nullptr ? std::move(spare_block_)
                                              : std::make_unique_for_overwrite<Block>());
    blocks_.back()->has_base = false;
  }
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

// The ring spans fewer than 2^24 entries (kMaxSpan and a block of fillers at most), so the
// low 24 bits name one seq in [head_, tail_).
uint64_t DedupIndex::SeqOf(uint32_t stored) const {
  return head_ + ((stored - static_cast<uint32_t>(head_)) & kSeqMask);
}

}  // namespace tidegate::filters
