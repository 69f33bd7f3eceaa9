// SPDX-License-Identifier: Apache-2.0
#include "filters/dedup_key.h"

#include <sodium.h>

#include <cstring>

namespace tidegate::filters {
namespace {

static_assert(sizeof(DedupHashKey) == crypto_shorthash_siphash24_KEYBYTES);

// A fixed key: the legacy hash only had to be stable across restarts and not invertible.
constexpr unsigned char kLegacyKey[crypto_generichash_KEYBYTES] = "tidegate ingest dedup key v1";

// The hash's bytes as a key: 63 bits (SQLite's INTEGER is signed), never 0 (a ring filler).
uint64_t FromHash(const unsigned char* bytes) {
  uint64_t key = 0;
  std::memcpy(&key, bytes, sizeof key);
  key &= 0x7fffffffffffffffull;
  return key == 0 ? 1 : key;
}

// Calls part() with "id", device_id, id or "content", topic, payload: each is followed by a
// NUL, so the parts cannot run into each other (topics and device ids hold no NUL).
template <typename Part>
void ForEachPart(std::string_view device_id, std::string_view id, std::string_view topic,
                 std::string_view payload, Part part) {
  if (!id.empty()) {
    part("id");
    part(device_id);
    part(id);
  } else {
    part("content");
    part(topic);
    part(payload);
  }
}

}  // namespace

uint64_t DedupHasher::Key(std::string_view device_id, std::string_view id, std::string_view topic,
                          std::string_view payload) {
  scratch_.clear();
  ForEachPart(device_id, id, topic, payload, [this](std::string_view part) {
    scratch_.append(part);
    scratch_.push_back('\0');
  });
  unsigned char out[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(out, reinterpret_cast<const unsigned char*>(scratch_.data()),
                             scratch_.size(), key_.data());
  return FromHash(out);
}

uint64_t LegacyDedupKey(std::string_view device_id, std::string_view id, std::string_view topic,
                        std::string_view payload) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, kLegacyKey, sizeof kLegacyKey, sizeof(uint64_t));
  ForEachPart(device_id, id, topic, payload, [&state](std::string_view part) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                              part.size());
    const unsigned char sep = 0;
    crypto_generichash_update(&state, &sep, 1);
  });
  unsigned char out[sizeof(uint64_t)];
  crypto_generichash_final(&state, out, sizeof out);
  return FromHash(out);
}

}  // namespace tidegate::filters
