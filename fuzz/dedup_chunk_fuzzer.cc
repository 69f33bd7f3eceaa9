// SPDX-License-Identifier: Apache-2.0
// Fuzzes the dedup_chunks row format (buffer/dedup_chunk.h), which the agent reads back from
// SQLite at every start, with arbitrary bytes. Invariants: no crash and no read past the input;
// a rejected input is kCorruption and hands out no key; an accepted one hands out every entry,
// none with a key of 0, and re-encodes to the same bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "buffer/dedup_chunk.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tidegate::buffer;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string again;
  size_t entries = 0;
  tidegate::Status status = ForEachDedupEntry(bytes, [&](uint64_t key, int64_t expires) {
    TG_FUZZ_CHECK(key != 0);
    AppendDedupEntry(key, expires, &again);
    ++entries;
  });
  auto count = DedupEntryCount(bytes);
  if (!status.ok()) {
    TG_FUZZ_CHECK(status.code() == tidegate::StatusCode::kCorruption);
    TG_FUZZ_CHECK(entries == 0);
    return 0;
  }
  TG_FUZZ_CHECK(count.ok() && *count == entries);
  TG_FUZZ_CHECK(again == bytes);
  return 0;
}
