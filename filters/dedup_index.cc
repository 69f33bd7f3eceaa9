// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_index.h"

#include <sodium.h>

#include <cstring>

#include "common/sat_time.h"

namespace tidegate::filters {
namespace {

// A fixed key: the hash only has to be stable across restarts and not invertible.
constexpr unsigned char kDedupKey[crypto_generichash_KEYBYTES] = "tidegate ingest dedup key v1";

}  // namespace

uint64_t DedupKey(std::string_view device_id, std::string_view id, std::string_view topic,
                  std::string_view payload) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, kDedupKey, sizeof kDedupKey, sizeof(uint64_t));
  auto update = [&](std::string_view part) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                              part.size());
    const unsigned char sep = 0;
    crypto_generichash_update(&state, &sep, 1);
  };
  if (!id.empty()) {
    update("id");
    update(device_id);
    update(id);
  } else {
    update("content");
    update(topic);
    update(payload);
  }
  unsigned char out[sizeof(uint64_t)];
  crypto_generichash_final(&state, out, sizeof out);
  uint64_t key = 0;
  std::memcpy(&key, out, sizeof key);
  key &= 0x7fffffffffffffffull;  // fits SQLite's signed INTEGER
  return key == 0 ? 1 : key;
}

void DedupIndex::Load(const std::vector<std::pair<uint64_t, int64_t>>& keys) {
  for (const auto& [key, expires] : keys) {
    expiry_[key] = expires;
    by_time_.emplace_back(expires, key);
  }
}

void DedupIndex::Expire(int64_t now_ms) {
  while (!by_time_.empty() && (by_time_.front().first <= now_ms || expiry_.size() >= max_keys_)) {
    if (by_time_.front().first > now_ms) ++evicted_;
    auto [expires, key] = by_time_.front();
    by_time_.pop_front();
    auto it = expiry_.find(key);
    if (it != expiry_.end() && it->second == expires) expiry_.erase(it);
  }
}

bool DedupIndex::SeenBefore(uint64_t key, int64_t now_ms, int64_t* expires_ms) {
  Expire(now_ms);
  auto it = expiry_.find(key);
  if (it != expiry_.end() && it->second > now_ms) return true;
  *expires_ms = SatAdd(now_ms, window_ms_);
  expiry_[key] = *expires_ms;
  by_time_.emplace_back(*expires_ms, key);
  return false;
}

}  // namespace tidegate::filters
