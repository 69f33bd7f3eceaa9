// SPDX-License-Identifier: Apache-2.0
// DedupIndex: ingest dedup. An event's key is a keyed 64-bit BLAKE2b hash of its device id
// and events.id value, or of its topic and payload when no id is configured or present. A key
// seen within dedup.window is a duplicate (QoS 1 redelivery after a reconnect or restart, or
// a device resending). Keys are made durable with their events (buffer/) and reloaded at
// start, so a restart keeps the window. Memory: about 40 bytes per key in the window.
// Not thread-safe: used by the ingest thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/config.h"

namespace tidegate::filters {

// The dedup key of an event: by id when id is non-empty, else by content. Never 0.
uint64_t DedupKey(std::string_view device_id, std::string_view id, std::string_view topic,
                  std::string_view payload);

class DedupIndex {
 public:
  // Keeps keys for window, but never more than max_keys: past that the oldest are forgotten
  // early (counted in evicted()), so a high event rate cannot grow memory without bound.
  explicit DedupIndex(Millis window, size_t max_keys = kDefaultMaxKeys)
      : window_ms_(window.count()), max_keys_(max_keys) {}

  static constexpr size_t kDefaultMaxKeys = 1'000'000;  // about 40-60 MB at most

  bool enabled() const { return window_ms_ > 0; }
  // Restores keys saved by an earlier run (oldest expiry first).
  void Load(const std::vector<std::pair<uint64_t, int64_t>>& keys);
  // True if key was seen within the window before now_ms; otherwise records it (expiring at
  // now_ms + window, returned in *expires_ms).
  bool SeenBefore(uint64_t key, int64_t now_ms, int64_t* expires_ms);
  size_t size() const { return expiry_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  void Expire(int64_t now_ms);

  const int64_t window_ms_;
  const size_t max_keys_;
  uint64_t evicted_ = 0;
  std::unordered_map<uint64_t, int64_t> expiry_;      // key -> expires at
  std::deque<std::pair<int64_t, uint64_t>> by_time_;  // (expires at, key), oldest first
};

}  // namespace tidegate::filters
