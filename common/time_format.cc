// SPDX-License-Identifier: Apache-2.0
#include "common/time_format.h"

#include <algorithm>
#include <cstdio>

namespace tidegate {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Reads exactly n digits at text[*pos].
bool Digits(std::string_view text, size_t* pos, size_t n, unsigned* out) {
  if (*pos + n > text.size()) return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char a, char b = '\0') {
  if (*pos >= text.size()) return false;
  char c = text[*pos];
  if (c != a && (b == '\0' || c != b)) return false;
  ++*pos;
  return true;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Parses "(Z|+HH:MM|-HH:MM)" at the end of text into an offset in minutes.
bool ParseZone(std::string_view text, size_t* pos, int64_t* offset_min) {
  if (Expect(text, pos, 'Z', 'z')) {
    *offset_min = 0;
    return *pos == text.size();
  }
  if (*pos >= text.size() || (text[*pos] != '+' && text[*pos] != '-')) return false;
  int64_t sign = text[*pos] == '-' ? -1 : 1;
  ++*pos;
  unsigned hh = 0, mm = 0;
  if (!Digits(text, pos, 2, &hh) || !Expect(text, pos, ':') || !Digits(text, pos, 2, &mm)) {
    return false;
  }
  if (hh > 23 || mm > 59) return false;
  *offset_min = sign * static_cast<int64_t>(hh * 60 + mm);
  return *pos == text.size();
}

}  // namespace

std::string FormatRfc3339Ms(int64_t unix_ms) {
  unix_ms = std::clamp(unix_ms, kMinRfc3339Ms, kMaxRfc3339Ms);
  int64_t days = FloorDiv(unix_ms, 86'400'000);
  int64_t ms_of_day = unix_ms - days * 86'400'000;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(ms_of_day / 3'600'000),
                static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60),
                static_cast<long long>(ms_of_day % 1000));
  return buf;
}

Result<int64_t> ParseRfc3339Ms(std::string_view text) {
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  bool ok =
      Digits(text, &pos, 4, &year) && Expect(text, &pos, '-') && Digits(text, &pos, 2, &month) &&
      Expect(text, &pos, '-') && Digits(text, &pos, 2, &day) && Expect(text, &pos, 'T', 't') &&
      Digits(text, &pos, 2, &hour) && Expect(text, &pos, ':') && Digits(text, &pos, 2, &minute) &&
      Expect(text, &pos, ':') && Digits(text, &pos, 2, &second);
  if (!ok || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return InvalidArgument("not an RFC 3339 timestamp");
  }
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return InvalidArgument("not an RFC 3339 timestamp");
  }
  int64_t offset_min = 0;
  if (!ParseZone(text, &pos, &offset_min)) return InvalidArgument("not an RFC 3339 timestamp");
  int64_t days = DaysFromCivil(year, month, day);
  int64_t seconds =
      days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset_min * 60;
  return seconds * 1000 + millis;
}

}  // namespace tidegate
