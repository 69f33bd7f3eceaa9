// SPDX-License-Identifier: Apache-2.0
#include "buffer/dedup_chunk.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace tidegate::buffer {
namespace {

// The layout is little endian; the targets (x86-64, arm64, armhf) are.
static_assert(std::endian::native == std::endian::little);

template <typename T>
T Load(std::string_view chunk, size_t offset) {
  T v;
  std::memcpy(&v, chunk.data() + offset, sizeof v);
  return v;
}

using Pairs = std::vector<std::pair<int64_t, uint64_t>>;  // (expires, key), to sort by

// The aggregate's state is a Pairs* in SQLite's aggregate context (zeroed at the first row).
// No exception may cross SQLite's C frames: allocation failures become SQLITE_NOMEM.
void ChunkStep(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  auto** pairs = static_cast<Pairs**>(sqlite3_aggregate_context(ctx, sizeof(Pairs*)));
  try {
    if (pairs == nullptr) throw std::bad_alloc();
    if (*pairs == nullptr) *pairs = new Pairs();
    (*pairs)->emplace_back(sqlite3_value_int64(argv[1]),
                           static_cast<uint64_t>(sqlite3_value_int64(argv[0])));
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  }
}

void ChunkFinal(sqlite3_context* ctx) {
  auto** slot = static_cast<Pairs**>(sqlite3_aggregate_context(ctx, 0));  // null: no row
  const std::unique_ptr<Pairs> pairs(slot != nullptr ? *slot : nullptr);
  try {
    std::string chunk;
    if (pairs != nullptr) {
      std::sort(pairs->begin(), pairs->end());
      chunk.reserve(pairs->size() * kDedupEntryBytes);
      for (const auto& [expires, key] : *pairs) AppendDedupEntry(key, expires, &chunk);
    }
    sqlite3_result_blob64(ctx, chunk.data(), chunk.size(), SQLITE_TRANSIENT);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  }
}

}  // namespace

void AppendDedupEntry(uint64_t key, int64_t expires, std::string* chunk) {
  char bytes[kDedupEntryBytes];
  std::memcpy(bytes, &key, sizeof key);
  std::memcpy(bytes + sizeof key, &expires, sizeof expires);
  chunk->append(bytes, sizeof bytes);
}

Result<size_t> DedupEntryCount(std::string_view chunk) {
  if (chunk.size() % kDedupEntryBytes != 0) {
    return Corruption("dedup chunk of " + std::to_string(chunk.size()) +
                      " bytes: not a whole number of entries");
  }
  return chunk.size() / kDedupEntryBytes;
}

Status CheckDedupChunk(std::string_view chunk) {
  TG_ASSIGN_OR_RETURN(size_t n, DedupEntryCount(chunk));
  for (size_t i = 0; i < n; ++i) {
    if (DedupEntryKey(chunk, i) == 0) return Corruption("dedup chunk holds a key of 0");
  }
  return Status::Ok();
}

uint64_t DedupEntryKey(std::string_view chunk, size_t index) {
  return Load<uint64_t>(chunk, index * kDedupEntryBytes);
}

int64_t DedupEntryExpires(std::string_view chunk, size_t index) {
  return Load<int64_t>(chunk, index * kDedupEntryBytes + sizeof(uint64_t));
}

Status RegisterDedupChunkFunction(sqlite3* db) {
  const int rc =
      sqlite3_create_function_v2(db, "tg_dedup_chunk", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                 nullptr, nullptr, ChunkStep, ChunkFinal, nullptr);
  if (rc != SQLITE_OK)
    return Internal("register tg_dedup_chunk: " + std::string(sqlite3_errstr(rc)));
  return Status::Ok();
}

}  // namespace tidegate::buffer
