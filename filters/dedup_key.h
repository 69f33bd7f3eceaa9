// SPDX-License-Identifier: Apache-2.0
// The 64-bit key ingest dedup remembers for an event: by device id and events.id value when
// the event has an id, else by topic and payload. DedupHasher is SipHash-2-4 under a random
// key kept in the buffer (meta.dedup_hash_key), so keys stay stable across restarts and a
// device cannot aim a collision at another's events without that key. LegacyDedupKey is the
// keyed BLAKE2b of earlier releases (about 25 times slower on these inputs): keys it wrote
// into a buffer are still checked until they expire, so an upgrade keeps the dedup window.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidegate::filters {

using DedupHashKey = std::array<uint8_t, 16>;

class DedupHasher {
 public:
  explicit DedupHasher(const DedupHashKey& key) : key_(key) {}

  // By id when id is non-empty, else by content. Never 0; fits SQLite's signed INTEGER.
  // Not thread-safe (a scratch buffer): one per ingest thread.
  uint64_t Key(std::string_view device_id, std::string_view id, std::string_view topic,
               std::string_view payload);

 private:
  DedupHashKey key_;
  std::string scratch_;
};

// The key earlier releases stored, for the same inputs. Thread-safe.
uint64_t LegacyDedupKey(std::string_view device_id, std::string_view id, std::string_view topic,
                        std::string_view payload);

}  // namespace tidegate::filters
