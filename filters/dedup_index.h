// SPDX-License-Identifier: Apache-2.0
// DedupIndex: ingest dedup. An event's key is a keyed 64-bit hash of its device id and
// events.id value, or of its topic and payload when no id is configured (filters/dedup_key.h). A
// key seen within dedup.window is a duplicate (QoS 1 redelivery after a reconnect or restart, or a
// device resending). Keys are made durable with their events (buffer/) and reloaded at start, so a
// restart keeps the window. Memory: 20 to 28 bytes per key in the window (a FIFO ring of 12-byte
// (key, expiry) entries in fixed blocks and an open-addressing table of 32-bit slots, each a ring
// position and 8 bits of its key), with no allocation per key: a million keys, the default bound,
// take about 20.5 MB instead of the ~75 MB of a node-based map. The ring grows and shrinks a block
// at a time, so it never holds a copy of itself or spare capacity beyond a block. Not
// thread-safe: used by the ingest thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "common/config.h"

namespace tidegate::filters {

class DedupIndex {
 public:
  // Keeps keys for window, but never more than max_keys: past that the oldest are forgotten
  // early (counted in evicted()), so a high event rate cannot grow memory without bound.
  // first_seq: where the ring's sequence numbers start; tests start it just below 2^32 to
  // cross a wrap of the slots' 24-bit positions (and of 32 bits), which a busy agent reaches
  // within hours.
  explicit DedupIndex(Millis window, size_t max_keys = kDefaultMaxKeys, uint64_t first_seq = 0)
      : window_ms_(window.count()),
        max_keys_(std::min<size_t>(max_keys, kMaxSpan / 2)),
        first_block_(first_seq >> kBlockBits),
        head_(first_seq),
        tail_(first_seq) {}

  // About 21-29 MB at most. A max_keys above 4,194,304 (kMaxSpan / 2) is capped there.
  static constexpr size_t kDefaultMaxKeys = 1'000'000;

  bool enabled() const { return window_ms_ > 0; }
  // Restores keys saved by an earlier run (oldest expiry first).
  void Load(const std::vector<std::pair<uint64_t, int64_t>>& keys);
  // The same one key at a time, after Reserve(how many will come) to size the index once.
  void Reserve(size_t keys);
  void Restore(uint64_t key, int64_t expires) { Record(key, expires); }
  // Many at once, in order: the table lookups of later keys are prefetched while earlier ones
  // are recorded (a million random keys miss the cache once or twice each).
  void Restore(std::span<const std::pair<uint64_t, int64_t>> keys);
  // True if key was seen within the window before now_ms; otherwise records it (expiring at
  // now_ms + window, returned in *expires_ms).
  bool SeenBefore(uint64_t key, int64_t now_ms, int64_t* expires_ms);
  // True if key is in the window at now_ms; records nothing.
  bool Contains(uint64_t key, int64_t now_ms) const;
  size_t size() const { return keys_; }
  uint64_t evicted() const { return evicted_; }
  // Heap bytes held by the index (its ring and table, at their current capacity).
  size_t memory_bytes() const;

 private:
  // 12 bytes, not 16: the expiry is kept relative to its block's first one. Entries are
  // recorded in the order of a clock that does not step (the age line), so a block's expiries
  // span less than 2^31 ms unless a block takes 24 days to fill; then the rest of that block is
  // skipped with fillers (Append).
  struct __attribute__((packed)) Entry {
    uint64_t key;  // 0: a filler entry, never a key (a dedup key is never 0); expired by definition
    int32_t expires_delta;  // expiry - Block::base
  };
  static_assert(sizeof(Entry) == 12);
  // 8,192 entries (96 KiB) a block.
  static constexpr unsigned kBlockBits = 13;
  static constexpr uint64_t kBlockEntries = uint64_t{1} << kBlockBits;
  struct Block {
    int64_t base;  // the expiry of the block's first key (set when it is appended)
    bool has_base;
    Entry entries[kBlockEntries];
  };
  // A slot holds the low 24 bits of an entry's sequence number and, above them, 8 bits of its
  // key (Fingerprint): a probe passes over another key's slot without reading its ring entry,
  // a cache miss of its own in a table of a million keys. All ones means empty, so no entry is
  // ever given a sequence number with all ones in its low 24 bits (a filler takes its place).
  static constexpr unsigned kSeqBits = 24;
  static constexpr uint32_t kSeqMask = (uint32_t{1} << kSeqBits) - 1;
  static constexpr uint32_t kEmptySlot = 0xffffffffu;
  // The ring spans fewer entries than this, so 24 bits name one of them (Expire and Record
  // forget the oldest past it: a head held back by a long expiry cannot grow the ring
  // unbounded). max_keys is capped at half of it.
  static constexpr uint64_t kMaxSpan = uint64_t{1} << (kSeqBits - 1);
  static_assert(kDefaultMaxKeys <= kMaxSpan / 2);
  static uint32_t Fingerprint(uint64_t key) {
    return static_cast<uint32_t>((key * 0x9e3779b97f4a7c15ull) >> 56);  // above HomeSlot's bits
  }
  static uint32_t SlotOf(uint64_t seq, uint64_t key) {
    return Fingerprint(key) << kSeqBits | (static_cast<uint32_t>(seq) & kSeqMask);
  }

  void Expire(int64_t now_ms);
  void Record(uint64_t key, int64_t expires);
  uint64_t Append(uint64_t key, int64_t expires);
  void AppendFiller();
  // The expiry of entry seq; a filler's is the smallest time, so it is expired at any time.
  int64_t ExpiresAt(uint64_t seq) const;
  // Drops the oldest entry; true if it was its key's newest (the key is forgotten).
  bool PopFront();
  size_t FindSlot(uint64_t key) const;  // the slot holding key, else the empty one to take
  size_t HomeSlot(uint64_t key) const;
  void EraseSlot(size_t slot);
  void ReserveBlocks(size_t entries);
  void ResizeSlots(size_t count);
  uint64_t SeqOf(uint32_t stored) const;  // the entry a non-empty slot names
  Block& BlockOf(uint64_t seq) const { return *blocks_[(seq >> kBlockBits) - first_block_]; }
  Entry& EntryAt(uint64_t seq) const { return BlockOf(seq).entries[seq & (kBlockEntries - 1)]; }

  const int64_t window_ms_;
  const size_t max_keys_;
  uint64_t evicted_ = 0;
  // Every recorded (key, expiry) in the order recorded, oldest first: entry seq lives in
  // blocks_[seq / kBlockEntries - first_block_] for seq in [head_, tail_). A key recorded again
  // after it expired leaves its older entry behind, stale; popping it erases nothing.
  std::vector<std::unique_ptr<Block>> blocks_;
  uint64_t first_block_;
  std::unique_ptr<Block> spare_block_;  // the last block emptied, kept for the next append
  uint64_t head_;
  uint64_t tail_;
  // Linear probing, a power of two long, at most half full: SlotOf each key's newest entry.
  std::vector<uint32_t> slots_;
  size_t keys_ = 0;
};

}  // namespace tidegate::filters
