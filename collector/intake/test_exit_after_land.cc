// SPDX-License-Identifier: Apache-2.0
#include "collector/intake/test_exit_after_land.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace tidegate::collector {
namespace {

std::atomic<int64_t> exit_after{0};  // 0: unarmed
std::atomic<int64_t> landed{0};

}  // namespace

std::optional<std::string> ArmTestExitAfterLandFromEnvironment() {
  const char* value =
      std::getenv("TIDEGATE_TEST_EXIT_AFTER_LAND");  // NOLINT(concurrency-mt-unsafe)
  if (value == nullptr) return std::nullopt;
  std::string_view text(value);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1) {
    return std::string("TEST HOOK TIDEGATE_TEST_EXIT_AFTER_LAND ignored: expected a count >= 1");
  }
  exit_after.store(n, std::memory_order_relaxed);
  return "TEST HOOK armed: exiting after landed batch " + std::to_string(n) +
         ", before replying (TIDEGATE_TEST_EXIT_AFTER_LAND)";
}

void TestExitAfterLandPoint() {
  int64_t n = exit_after.load(std::memory_order_relaxed);
  if (n == 0) return;
  if (landed.fetch_add(1, std::memory_order_relaxed) + 1 == n) _exit(kTestExitAfterLandCode);
}

}  // namespace tidegate::collector
