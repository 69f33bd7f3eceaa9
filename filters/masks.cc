// SPDX-License-Identifier: Apache-2.0
#include "filters/masks.h"

#include <arpa/inet.h>

#include <cstring>

namespace tidegate::filters {
namespace {

std::optional<std::string> Ipv4Prefix24(std::string_view text) {
  if (text.size() > 15) return std::nullopt;
  std::string s(text);
  in_addr addr{};
  if (inet_pton(AF_INET, s.c_str(), &addr) != 1) return std::nullopt;
  addr.s_addr &= htonl(0xffffff00u);
  char out[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr, out, sizeof out);
  return std::string(out) + "/24";
}

std::optional<std::string> Ipv6Prefix48(std::string_view text) {
  if (text.size() > 45) return std::nullopt;
  std::string s(text);
  in6_addr addr{};
  if (inet_pton(AF_INET6, s.c_str(), &addr) != 1) return std::nullopt;
  std::memset(addr.s6_addr + 6, 0, 10);
  char out[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &addr, out, sizeof out);
  return std::string(out) + "/48";
}

std::optional<std::string> KeepLast4(std::string_view text) {
  // Code point starts: bytes that are not UTF-8 continuation bytes.
  size_t code_points = 0;
  for (char c : text) code_points += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  if (code_points <= 4) return std::nullopt;
  std::string out;
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    bool start = (static_cast<unsigned char>(text[i]) & 0xc0) != 0x80;
    if (start) ++seen;
    if (seen + 4 <= code_points) {
      if (start) out.push_back('*');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::optional<std::string> YearOnly(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (!Digits(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' || !Digits(text, 5, 2, &m) ||
      text[7] != '-' || !Digits(text, 8, 2, &d)) {
    return std::nullopt;
  }
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap)) return std::nullopt;
  if (text.size() > 10 && text[10] != 'T' && text[10] != 't' && text[10] != ' ') {
    return std::nullopt;
  }
  return std::string(text.substr(0, 4));
}

}  // namespace

std::optional<std::string> ApplyMask(MaskKind kind, std::string_view text) {
  switch (kind) {
    case MaskKind::kIpv4Prefix24:
      return Ipv4Prefix24(text);
    case MaskKind::kIpv6Prefix48:
      return Ipv6Prefix48(text);
    case MaskKind::kKeepLast4:
      return KeepLast4(text);
    case MaskKind::kYearOnly:
      return YearOnly(text);
  }
  return std::nullopt;
}

}  // namespace tidegate::filters
