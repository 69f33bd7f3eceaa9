// SPDX-License-Identifier: Apache-2.0
// Replacing a file so that a crash at any moment leaves either the old or the new contents,
// never a mix: a temp file in the same directory, write, fsync, rename over the target,
// fsync of the directory. Used for accepted configs and the accepted-version record. Not
// safe against two writers of the same path at once (the agent has one, under its lock).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidegate::remote {

// Where a test may stop a write (by returning an error from the hook): after the temp file
// is written and synced, or after the rename but before the directory sync.
enum class AtomicWriteStep { kTempWritten, kRenamed };
using AtomicWriteHook = std::function<Status(AtomicWriteStep)>;

// Replaces path with contents (file mode `mode`, before the umask). On failure the temp
// file is removed and path is untouched (kIOError naming the path and the errno text).
Status WriteFileAtomically(const std::string& path, std::string_view contents, unsigned mode,
                           const AtomicWriteHook& hook = nullptr);

// Reads a whole regular file of at most max_bytes. kNotFound if it does not exist, kIOError
// otherwise, kResourceExhausted if larger.
Result<std::string> ReadWholeFile(const std::string& path, size_t max_bytes);

}  // namespace tidegate::remote
