// SPDX-License-Identifier: Apache-2.0
// The agent's OpAMP instance_uid: 16 bytes laid out as a UUID v7 (as the OpAMP spec
// recommends: 48-bit Unix milliseconds, then random bits), created once and kept in
// state_dir/opamp_instance_uid (mode 0600), so a server sees the same agent after a restart.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace tidegate::remote::opamp {

inline constexpr char kInstanceUidFile[] = "opamp_instance_uid";
inline constexpr size_t kInstanceUidBytes = 16;

// Returns the 16 bytes stored in state_dir, creating them on first use. kCorruption if the
// file exists but does not hold exactly 16 bytes (it is not silently replaced: a new uid
// makes the agent a stranger to its server); kIOError if it cannot be read or written.
Result<std::string> LoadOrCreateInstanceUid(const std::string& state_dir, Clock& clock);

// Lower-case hex of any bytes ("0a1b..."), for logs, metrics and the collector's table.
// Inline so that the collector needs only this header and tg_opamp_proto.
inline std::string HexOf(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

}  // namespace tidegate::remote::opamp
