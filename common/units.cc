// SPDX-License-Identifier: Apache-2.0
#include "common/units.h"

#include <limits>
#include <string>
#include <utility>

namespace tidegate {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads a run of digits at text[*pos], advancing pos. False if none or on overflow.
bool ReadNumber(std::string_view text, size_t* pos, uint64_t* out) {
  size_t start = *pos;
  uint64_t value = 0;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    auto digit = static_cast<uint64_t>(text[*pos] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
    ++*pos;
  }
  *out = value;
  return *pos > start;
}

bool MulChecked(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

// Milliseconds per unit, or 0 for an unknown unit.
uint64_t DurationUnitMs(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  if (unit == "d") return 86'400'000;
  return 0;
}

uint64_t SizeUnitBytes(std::string_view unit) {
  if (unit.empty() || unit == "B") return 1;
  if (unit == "KiB") return 1ull << 10;
  if (unit == "MiB") return 1ull << 20;
  if (unit == "GiB") return 1ull << 30;
  if (unit == "TiB") return 1ull << 40;
  if (unit == "KB" || unit == "kB") return 1000;
  if (unit == "MB") return 1000'000;
  if (unit == "GB") return 1000'000'000;
  if (unit == "TB") return 1000'000'000'000;
  return 0;
}

// Built with append, not operator+: GCC 12 at -O3 raises a false -Wrestrict inside
// std::string's operator+ (GCC bug 105329).
std::string Quoted(std::string_view text) {
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted.append(1, '\'').append(text).append(1, '\'');
  return quoted;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string quoted = Quoted(text);
  if (text.empty()) return InvalidArgument("empty duration");
  if (text == "0") return std::chrono::milliseconds(0);
  uint64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    uint64_t number = 0;
    if (!ReadNumber(text, &pos, &number)) {
      return InvalidArgument("bad duration " + quoted + ": expected a number such as 30s");
    }
    size_t unit_start = pos;
    while (pos < text.size() && !IsDigit(text[pos])) ++pos;
    uint64_t unit_ms = DurationUnitMs(text.substr(unit_start, pos - unit_start));
    if (unit_ms == 0) {
      return InvalidArgument("bad duration " + quoted + ": unit must be ms, s, m, h or d");
    }
    uint64_t part = 0;
    if (!MulChecked(number, unit_ms, &part) ||
        part > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - total) {
      return InvalidArgument("bad duration " + quoted + ": too large");
    }
    total += part;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

Result<uint64_t> ParseSize(std::string_view text) {
  const std::string quoted = Quoted(text);
  size_t pos = 0;
  uint64_t number = 0;
  if (!ReadNumber(text, &pos, &number)) {
    return InvalidArgument("bad size " + quoted + ": expected a number such as 256MiB");
  }
  uint64_t unit = SizeUnitBytes(text.substr(pos));
  if (unit == 0) {
    return InvalidArgument("bad size " + quoted + ": unit must be B, KiB, MiB, GiB, KB, MB or GB");
  }
  uint64_t bytes = 0;
  if (!MulChecked(number, unit, &bytes))
    return InvalidArgument("bad size " + quoted + ": too large");
  return bytes;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() <= 0) return "0";
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const auto& [unit_ms, name] : kUnits) {
    if (d.count() % unit_ms == 0) return std::to_string(d.count() / unit_ms) + name;
  }
  return std::to_string(d.count()) + "ms";
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::pair<uint64_t, const char*> kUnits[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  for (const auto& [unit, name] : kUnits) {
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + name;
  }
  return std::to_string(bytes);
}

}  // namespace tidegate
