// SPDX-License-Identifier: Apache-2.0
#include "common/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace tidegate {

void NameThisThread(std::string_view name) {
  std::array<char, 16> buf{};  // 15 bytes and the NUL
  const size_t n = std::min(name.size(), buf.size() - 1);
  std::copy_n(name.begin(), n, buf.begin());
  pthread_setname_np(pthread_self(), buf.data());
}

}  // namespace tidegate
