// SPDX-License-Identifier: Apache-2.0
// RawArchive: `serve --keep-raw DIR`, a debugging and audit aid of the reference receiver.
// Every batch request body is written, exactly as received (still zstd-compressed), to
// DIR/<batch_id>.tgb.zst before it is decoded, so a batch can be replayed or decoded later
// with `tidegate inspect` or `zstd -d` + `flatc --json`. Writes are atomic (a temporary file
// in DIR, then rename): a reader never sees half a batch, and a retried batch replaces its
// earlier copy. Thread-safe: each call uses its own temporary file.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::collector {

// The file name for a batch id: letters, digits, '-', '_' and '.' are kept, every other
// byte becomes '_', a leading '.' becomes '_' (no hidden files, no "." or ".."), an empty
// id becomes "_", and ids longer than 200 bytes are cut (a file name holds 255 bytes).
// Ids that differ only in replaced bytes share a name; the last one written wins.
std::string RawFileName(std::string_view batch_id);

class RawArchive {
 public:
  // dir must exist (serve creates it).
  explicit RawArchive(std::string dir) : dir_(std::move(dir)) {}

  // Writes body to dir/RawFileName(batch_id) + ".tgb.zst" atomically. kIOError naming the
  // file on failure; the temporary file is removed then.
  Status Keep(std::string_view batch_id, std::string_view body) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace tidegate::collector
