// SPDX-License-Identifier: Apache-2.0
#include "remote/opamp/instance_uid.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

#include "remote/opamp/state_file.h"

namespace tidegate::remote::opamp {
namespace {

Result<std::string> NewUuidV7(Clock& clock) {
  std::string uid(kInstanceUidBytes, '\0');
  size_t got = 0;
  while (got < uid.size()) {
    ssize_t n = ::getrandom(uid.data() + got, uid.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IOError(std::string("getrandom: ") + std::generic_category().message(errno));
    got += static_cast<size_t>(n);
  }
  auto ms = static_cast<uint64_t>(clock.NowUnixMs());
  for (int i = 0; i < 6; ++i) uid[static_cast<size_t>(i)] = static_cast<char>(ms >> (40 - 8 * i));
  uid[6] = static_cast<char>(0x70 | (static_cast<unsigned char>(uid[6]) & 0x0f));  // version 7
  uid[8] = static_cast<char>(0x80 | (static_cast<unsigned char>(uid[8]) & 0x3f));  // variant
  return uid;
}

}  // namespace

Result<std::string> LoadOrCreateInstanceUid(const std::string& state_dir, Clock& clock) {
  const std::string path = state_dir + "/" + kInstanceUidFile;
  TG_ASSIGN_OR_RETURN(std::optional<std::string> stored, ReadStateFile(path, 64));
  if (stored) {
    if (stored->size() != kInstanceUidBytes) {
      return Corruption(path + " holds " + std::to_string(stored->size()) +
                        " bytes, not 16; remove it to make the agent a new OpAMP instance");
    }
    return *stored;
  }
  TG_ASSIGN_OR_RETURN(std::string uid, NewUuidV7(clock));
  TG_RETURN_IF_ERROR(WriteStateFile(path, uid));
  return uid;
}

}  // namespace tidegate::remote::opamp
