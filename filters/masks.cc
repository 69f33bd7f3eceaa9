// SPDX-License-Identifier: Apache-2.0
#include "filters/masks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

#include "common/json_escape.h"

namespace tidegate::filters {
namespace {

constexpr size_t kMaxAddressText = 45;  // INET6_ADDRSTRLEN - 1; longer text is no address
constexpr size_t kKeptCodePoints = 4;

// inet_pton on text, which it needs NUL-terminated. Text with an embedded NUL does not parse
// (inet_pton would stop at the NUL and accept the prefix).
bool ParseAddress(int family, std::string_view text, void* addr) {
  if (text.empty() || text.size() > kMaxAddressText || text.find('\0') != text.npos) {
    return false;
  }
  char buf[kMaxAddressText + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(family, buf, addr) == 1;
}

std::optional<std::string> FormatAddress(int family, const void* addr, std::string_view suffix) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(family, addr, buf, sizeof(buf)) == nullptr) return std::nullopt;
  return std::string(buf).append(suffix);
}

std::optional<std::string> MaskIpv4(std::string_view text) {
  in_addr addr{};
  if (!ParseAddress(AF_INET, text, &addr)) return std::nullopt;
  // Dotted quad by hand: glibc's inet_ntop formats IPv4 with sprintf, a visible cost per event.
  const auto* bytes = reinterpret_cast<const uint8_t*>(&addr.s_addr);  // network byte order
  std::string out;
  out.reserve(sizeof "255.255.255.0/24");
  for (int i = 0; i < 3; ++i) {
    const unsigned v = bytes[i];
    if (v >= 100) out.push_back(static_cast<char>('0' + v / 100));
    if (v >= 10) out.push_back(static_cast<char>('0' + v / 10 % 10));
    out.push_back(static_cast<char>('0' + v % 10));
    out.push_back('.');
  }
  out.append("0/24");
  return out;
}

std::optional<std::string> MaskIpv6(std::string_view text) {
  in6_addr addr{};
  if (!ParseAddress(AF_INET6, text, &addr)) return std::nullopt;
  std::memset(&addr.s6_addr[6], 0, sizeof(addr.s6_addr) - 6);
  return FormatAddress(AF_INET6, &addr, "/48");
}

bool IsUtf8Continuation(char c) { return (static_cast<uint8_t>(c) & 0xc0) == 0x80; }

std::optional<std::string> MaskKeepLast4(std::string_view text) {
  if (!IsValidUtf8(text)) return std::nullopt;
  size_t code_points = 0;
  for (char c : text) code_points += IsUtf8Continuation(c) ? 0u : 1u;
  if (code_points <= kKeptCodePoints) return std::nullopt;
  // Start of the 4th code point from the end.
  size_t keep_from = text.size(), seen = 0;
  while (seen < kKeptCodePoints) {
    --keep_from;
    if (!IsUtf8Continuation(text[keep_from])) ++seen;
  }
  std::string out(code_points - kKeptCodePoints, '*');
  out.append(text.substr(keep_from));
  return out;
}

bool ParseDigits(std::string_view text, size_t pos, size_t count, unsigned* value) {
  *value = 0;
  for (size_t k = 0; k < count; ++k) {
    const char c = text[pos + k];
    if (c < '0' || c > '9') return false;
    *value = *value * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

unsigned DaysInMonth(unsigned year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<std::string> MaskYearOnly(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (text.size() > 10 && text[10] != 'T' && text[10] != 't' && text[10] != ' ') {
    return std::nullopt;
  }
  unsigned year = 0, month = 0, day = 0;
  if (!ParseDigits(text, 0, 4, &year) || !ParseDigits(text, 5, 2, &month) ||
      !ParseDigits(text, 8, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return std::nullopt;
  return std::string(text.substr(0, 4));
}

}  // namespace

std::optional<std::string> ApplyMask(MaskKind kind, std::string_view text) {
  switch (kind) {
    case MaskKind::kIpv4Prefix24:
      return MaskIpv4(text);
    case MaskKind::kIpv6Prefix48:
      return MaskIpv6(text);
    case MaskKind::kKeepLast4:
      return MaskKeepLast4(text);
    case MaskKind::kYearOnly:
      return MaskYearOnly(text);
  }
  return std::nullopt;
}

}  // namespace tidegate::filters
