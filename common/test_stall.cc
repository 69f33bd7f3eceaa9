// SPDX-License-Identifier: Apache-2.0
#include "common/test_stall.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <thread>

namespace tidegate {
namespace {

using Steady = std::chrono::steady_clock;

constexpr int kUnarmed = -1;
std::atomic<int> armed_point{kUnarmed};
std::atomic<Steady::rep> stall_at_ticks{0};

std::optional<StallPoint> ParsePoint(std::string_view name) {
  if (name == "ingest") return StallPoint::kIngest;
  if (name == "writer") return StallPoint::kWriter;
  if (name == "uplink") return StallPoint::kUplink;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ArmTestStallFromEnvironment() {
  const char* value = std::getenv("TIDEGATE_TEST_STALL");  // NOLINT(concurrency-mt-unsafe)
  if (value == nullptr) return std::nullopt;
  const std::string_view text(value);
  const size_t colon = text.find(':');
  const std::optional<StallPoint> point = ParsePoint(text.substr(0, colon));
  char* end = nullptr;
  const long seconds =
      colon == std::string_view::npos ? 0 : std::strtol(value + colon + 1, &end, 10);
  if (!point || colon == std::string_view::npos || end == nullptr || *end != '\0' || seconds < 0) {
    return "TEST HOOK TIDEGATE_TEST_STALL ignored: expected ingest|writer|uplink:SECONDS";
  }
  stall_at_ticks = (Steady::now() + std::chrono::seconds(seconds)).time_since_epoch().count();
  armed_point = static_cast<int>(*point);
  return "TEST HOOK TIDEGATE_TEST_STALL armed: the " + std::string(text.substr(0, colon)) +
         " thread blocks forever in " + std::to_string(seconds) + " s";
}

void TestStallPoint(StallPoint point) {
  if (armed_point.load(std::memory_order_relaxed) != static_cast<int>(point)) return;
  if (Steady::now().time_since_epoch().count() < stall_at_ticks.load()) return;
  while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}

}  // namespace tidegate
