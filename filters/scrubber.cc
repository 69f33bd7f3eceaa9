// SPDX-License-Identifier: Apache-2.0
#include "filters/scrubber.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace tidegate::filters {
namespace {

constexpr size_t kMaxPhoneDigits = 15;  // E.164
constexpr size_t kMinIntlPhoneDigits = 8;
constexpr size_t kMinNationalPhoneDigits = 9;
constexpr size_t kMinCardDigits = 13;
constexpr size_t kMaxCardDigits = 19;
constexpr size_t kMaxIpv6Text = 45;  // INET6_ADDRSTRLEN - 1
constexpr size_t kMaxIpv6Scan = 64;  // longer hex/colon runs are not addresses

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsWordByte(char c) { return IsAlnum(c) || c == '_'; }

// The byte at i, or '\0' past the end: lets the matchers look ahead without bounds checks of
// their own. '\0' is not part of any match, so an embedded NUL behaves like the end.
char At(std::string_view t, size_t i) { return i < t.size() ? t[i] : '\0'; }
char Before(std::string_view t, size_t i) { return i > 0 && i <= t.size() ? t[i - 1] : '\0'; }

// Number of ASCII digits starting at pos, counting at most cap + 1 (so "> cap" is visible
// while the work stays bounded).
size_t DigitRun(std::string_view t, size_t pos, size_t cap) {
  size_t k = 0;
  while (k <= cap && IsDigit(At(t, pos + k))) ++k;
  return k;
}

// Length of the well-formed UTF-8 sequence at t[i] (1-4), or 0; *cp gets the code point.
size_t DecodeUtf8(std::string_view t, size_t i, uint32_t* cp) {
  const auto c = static_cast<uint8_t>(t[i]);
  size_t len = 0;
  uint32_t v = 0, min = 0;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, v = c & 0x1fu, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, v = c & 0x0fu, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, v = c & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (len > t.size() - i) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<uint8_t>(t[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    v = (v << 6) | (cc & 0x3fu);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

// True for a non-ASCII code point that can be part of a name: letters of any script. The
// punctuation and symbol blocks below are boundaries, so "anna@example.com—danke" ends at
// "com" and "«anna@example.com»" starts at "anna".
bool IsLetterLike(uint32_t cp) {
  struct Range {
    uint32_t lo, hi;
  };
  static constexpr Range kNotLetters[] = {
      {0x00, 0xbf},         // ASCII, C1 controls, Latin-1 punctuation (nbsp, «, », ¿)
      {0xd7, 0xd7},         // ×
      {0xf7, 0xf7},         // ÷
      {0x2000, 0x2bff},     // general punctuation (— … ZWJ), currency, arrows, math, shapes
      {0x2e00, 0x2e7f},     // supplemental punctuation
      {0x3000, 0x303f},     // CJK symbols and punctuation
      {0xd800, 0xf8ff},     // surrogates, private use
      {0xfe00, 0xfe6f},     // variation selectors, vertical, CJK compatibility, small forms
      {0xff00, 0xff0f},     // fullwidth ! " # ... /
      {0xff1a, 0xff20},     // fullwidth : ; < = > ? @
      {0xff3b, 0xff40},     // fullwidth [ \ ] ^ _ `
      {0xff5b, 0xff65},     // fullwidth { | } ~ and halfwidth CJK punctuation
      {0xfff0, 0xffff},     // specials
      {0x1f000, 0x1fbff},   // emoji, pictographs, symbols
      {0xe0000, 0x10ffff},  // tags, supplementary private use
  };
  for (const Range& r : kNotLetters) {
    if (cp >= r.lo && cp <= r.hi) return false;
  }
  return true;
}

// Length of the non-ASCII letter at t[i], or 0.
size_t LetterAt(std::string_view t, size_t i) {
  if (i >= t.size() || static_cast<uint8_t>(t[i]) < 0x80) return 0;
  uint32_t cp = 0;
  const size_t len = DecodeUtf8(t, i, &cp);
  return len != 0 && IsLetterLike(cp) ? len : 0;
}

// Length of the non-ASCII letter that ends just before `end` and starts at or after floor.
size_t LetterBefore(std::string_view t, size_t end, size_t floor) {
  if (end <= floor || (static_cast<uint8_t>(t[end - 1]) & 0xc0) != 0x80) return 0;
  for (size_t len = 2; len <= 4 && len <= end - floor; ++len) {
    if ((static_cast<uint8_t>(t[end - len]) & 0xc0) == 0x80) continue;  // still inside
    return LetterAt(t, end - len) == len ? len : 0;
  }
  return 0;
}

// ---- email ----

bool IsLocalAscii(char c) {
  static constexpr std::string_view kSpecials = ".!#$%&'*+-^_~";
  return IsAlnum(c) || (c != '\0' && kSpecials.find(c) != std::string_view::npos);
}

// Start of the local part that ends at the '@' at index `at`; `at` when there is none. The
// scan never goes below floor (the end of the previous match).
size_t LocalPartStart(std::string_view t, size_t at, size_t floor) {
  size_t b = at;
  while (b > floor) {
    const char c = t[b - 1];
    if (IsLocalAscii(c)) {
      if (c == '.' && b < at && t[b] == '.') {
        ++b;  // "a..b@": the part after the double dot
        break;
      }
      --b;
      continue;
    }
    const size_t len = LetterBefore(t, b, floor);
    if (len == 0) break;
    b -= len;
  }
  while (b < at && (t[b] == '.' || t[b] == '\'')) ++b;
  return b;
}

// End of the domain that starts at `from`: just after its last label that qualifies as a TLD
// (>= 2 letters, following at least one label), or `from` when there is none.
size_t DomainEnd(std::string_view t, size_t from) {
  size_t pos = from, best = from, labels = 0;
  while (true) {
    const size_t label_begin = pos;
    size_t prefix_end = pos, prefix_letters = 0;  // the label's leading run of letters
    bool letters_only = true;
    while (true) {
      const char c = At(t, pos);
      size_t len = IsAlpha(c) ? 1 : LetterAt(t, pos);
      if (len == 0 && (IsDigit(c) || c == '-')) {
        letters_only = false;
        len = 1;
      }
      if (len == 0) break;
      pos += len;
      if (letters_only) prefix_end = pos, ++prefix_letters;
    }
    if (pos == label_begin || t[label_begin] == '-') break;
    ++labels;
    const bool tld_end = prefix_end == pos || t[prefix_end] == '-';
    if (labels >= 2 && prefix_letters >= 2 && tld_end) best = prefix_end;
    if (t[pos - 1] == '-' || At(t, pos) != '.') break;
    ++pos;
  }
  return best;
}

bool EmailAt(std::string_view t, size_t at, size_t floor, PiiMatch* m) {
  const size_t begin = LocalPartStart(t, at, floor);
  if (begin == at || t[at - 1] == '.') return false;
  const size_t end = DomainEnd(t, at + 1);
  if (end == at + 1) return false;
  *m = PiiMatch{begin, end, PiiKind::kEmail};
  return true;
}

// The first email at or after `from`. Each '@' is looked at once per FindPii call; the
// backward and forward scans from consecutive '@'s do not cross each other, so the total
// work is linear.
bool NextEmail(std::string_view t, size_t from, PiiMatch* m) {
  for (size_t at = t.find('@', from); at != std::string_view::npos; at = t.find('@', at + 1)) {
    if (EmailAt(t, at, from, m)) return true;
  }
  return false;
}

// ---- numbers ----

bool NumberStartOk(std::string_view t, size_t i) {
  const char p = Before(t, i);
  if (IsWordByte(p) || p == '.' || p == '+') return false;
  return !((p == '-' || p == ':') && IsDigit(Before(t, i - 1)));
}

bool NumberEndOk(std::string_view t, size_t e) {
  const char c = At(t, e);
  if (IsWordByte(c)) return false;
  return !((c == '.' || c == ':' || c == '-') && IsDigit(At(t, e + 1)));
}

bool MatchIpv4(std::string_view t, size_t i, size_t* end) {
  const char p = Before(t, i);
  if (IsWordByte(p) || p == '.') return false;
  size_t pos = i;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0 && At(t, pos++) != '.') return false;
    const size_t d = DigitRun(t, pos, 3);
    if (d == 0 || d > 3 || (d > 1 && t[pos] == '0')) return false;
    int value = 0;
    for (size_t k = 0; k < d; ++k) value = value * 10 + (t[pos + k] - '0');
    if (value > 255) return false;
    pos += d;
  }
  if (IsWordByte(At(t, pos)) || (At(t, pos) == '.' && IsDigit(At(t, pos + 1)))) return false;
  *end = pos;
  return true;
}

bool MatchIpv6(std::string_view t, size_t i, size_t* end) {
  const char p = Before(t, i);
  if (IsWordByte(p) || p == '.') return false;
  const char pp = Before(t, i - 1);
  if (p == ':' && (IsHex(pp) || pp == ':' || pp == '.')) return false;  // inside a run
  size_t e = i;
  while (e < t.size() && e - i <= kMaxIpv6Scan && (IsHex(t[e]) || t[e] == ':' || t[e] == '.')) {
    ++e;
  }
  if (e - i > kMaxIpv6Scan) return false;
  while (e > i && t[e - 1] == '.') --e;                       // a sentence ends after the address
  if (e - i >= 2 && t[e - 1] == ':' && t[e - 2] != ':') --e;  // "::1: refused"
  const size_t len = e - i;
  if (len < 2 || len > kMaxIpv6Text || IsWordByte(At(t, e))) return false;
  bool has_hex = false;
  for (size_t k = i; k < e; ++k) has_hex = has_hex || IsHex(t[k]);
  if (!has_hex) return false;
  char buf[kMaxIpv6Text + 1];
  std::memcpy(buf, t.data() + i, len);
  buf[len] = '\0';
  in6_addr addr{};
  if (inet_pton(AF_INET6, buf, &addr) != 1) return false;
  *end = e;
  return true;
}

bool LuhnOk(std::string_view t, size_t begin, size_t end) {
  unsigned sum = 0;
  bool twice = false;
  for (size_t k = end; k-- > begin;) {
    if (!IsDigit(t[k])) continue;
    auto d = static_cast<unsigned>(t[k] - '0');
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool MatchUngroupedCard(std::string_view t, size_t i, size_t digits, size_t* end) {
  if (digits < kMinCardDigits || digits > kMaxCardDigits) return false;
  if (t[i] == '1' && (digits == 13 || digits == 16 || digits == 19)) return false;  // unix time
  const size_t e = i + digits;
  if (!NumberEndOk(t, e) || !LuhnOk(t, i, e)) return false;
  *end = e;
  return true;
}

bool MatchCard(std::string_view t, size_t i, size_t* end) {
  if (!NumberStartOk(t, i)) return false;
  const size_t first = DigitRun(t, i, kMaxCardDigits);
  if (first > 8) return MatchUngroupedCard(t, i, first, end);
  if (first < 3) return false;
  std::array<size_t, 8> ends{}, totals{};  // >= 3 digits a group: at most 6 more groups
  size_t count = 0, pos = i + first, digits = first;
  char sep = '\0';
  while (count < ends.size()) {
    const char c = At(t, pos);
    if ((c != ' ' && c != '-') || (sep != '\0' && c != sep)) break;
    const size_t d = DigitRun(t, pos + 1, 8);
    if (d < 3 || d > 8 || digits + d > kMaxCardDigits) break;
    sep = c, digits += d, pos += 1 + d;
    ends[count] = pos, totals[count] = digits, ++count;
  }
  for (size_t k = count; k-- > 0;) {
    if (totals[k] >= kMinCardDigits && NumberEndOk(t, ends[k]) && LuhnOk(t, i, ends[k])) {
      *end = ends[k];
      return true;
    }
  }
  return false;
}

bool IsPhoneSep(char c) { return c == ' ' || c == '.' || c == '-'; }

// The digit groups of an international number after the one right behind the '+'.
struct IntlScan {
  std::string_view t;
  size_t pos = 0, digits = 0;
  bool paren_used = false;

  // Consumes one more group ("-123", " (0)20", "(415)"); false when there is none.
  bool NextGroup() {
    size_t p = pos;
    if (IsPhoneSep(At(t, p))) ++p;
    size_t extra = 0;
    if (At(t, p) == '(' && !paren_used) {
      const size_t d = DigitRun(t, p + 1, 5);
      if (d == 0 || d > 5 || At(t, p + 1 + d) != ')') return false;
      p += d + 2;
      if (IsPhoneSep(At(t, p))) ++p;
      paren_used = true, extra = d;
    } else if (p == pos) {
      return false;  // groups are separated
    }
    const size_t d = DigitRun(t, p, kMaxPhoneDigits);
    if (d == 0 || digits + extra + d > kMaxPhoneDigits) return false;
    digits += extra + d, pos = p + d;
    return true;
  }
};

bool MatchIntlPhone(std::string_view t, size_t i, size_t* end) {
  if (!NumberStartOk(t, i)) return false;
  IntlScan scan{.t = t, .pos = i + 1};
  scan.digits = DigitRun(t, scan.pos, kMaxPhoneDigits);
  if (scan.digits == 0 || scan.digits > kMaxPhoneDigits) return false;
  scan.pos += scan.digits;
  bool found = false;
  do {
    if (scan.digits >= kMinIntlPhoneDigits && NumberEndOk(t, scan.pos)) {
      *end = scan.pos;
      found = true;
    }
  } while (scan.NextGroup());
  return found;
}

// Continues a national number whose digits so far end at pos: groups of >= 2 digits joined by
// one separator kind from seps. *end gets the longest acceptable end with >= 9 digits.
bool MatchGroupedTail(std::string_view t, size_t pos, size_t digits, std::string_view seps,
                      size_t* end) {
  bool found = false;
  char sep = '\0';
  while (true) {
    if (digits >= kMinNationalPhoneDigits && NumberEndOk(t, pos)) {
      *end = pos;
      found = true;
    }
    const char c = At(t, pos);
    if (c == '\0' || seps.find(c) == std::string_view::npos || (sep != '\0' && c != sep)) break;
    const size_t d = DigitRun(t, pos + 1, kMaxPhoneDigits);
    if (d < 2 || digits + d > kMaxPhoneDigits) break;
    sep = c, digits += d, pos += 1 + d;
  }
  return found;
}

bool MatchTrunkPhone(std::string_view t, size_t i, size_t* end) {
  if (!NumberStartOk(t, i)) return false;
  const size_t zeros = At(t, i + 1) == '0' ? 2 : 1;  // "0" trunk prefix or "00" intl prefix
  const char area = At(t, i + zeros);
  if (!IsDigit(area) || area == '0') return false;
  const size_t first = DigitRun(t, i, kMaxPhoneDigits);
  if (first > kMaxPhoneDigits) return false;
  return MatchGroupedTail(t, i + first, first, " -./", end);
}

bool MatchParenPhone(std::string_view t, size_t i, size_t* end) {
  if (IsWordByte(Before(t, i))) return false;
  const size_t area = DigitRun(t, i + 1, 5);
  if (area < 2 || area > 5 || At(t, i + 1 + area) != ')') return false;
  size_t pos = i + area + 2;
  if (At(t, pos) == ' ') ++pos;
  const size_t first = DigitRun(t, pos, kMaxPhoneDigits);
  if (first < 2 || area + first > kMaxPhoneDigits) return false;
  return MatchGroupedTail(t, pos + first, area + first, " -.", end);
}

bool MatchNanpPhone(std::string_view t, size_t i, size_t* end) {
  if (!NumberStartOk(t, i)) return false;
  static constexpr size_t kGroups[] = {3, 3, 4};
  size_t pos = i;
  char sep = '\0';
  const char after_one = At(t, i + 1);
  if (t[i] == '1' && (after_one == '-' || after_one == '.' || after_one == ' ') &&
      IsDigit(At(t, i + 2))) {
    sep = after_one, pos = i + 2;
  }
  for (size_t g = 0; g < 3; ++g) {
    if (g > 0) {
      const char c = At(t, pos++);
      if ((c != '-' && c != '.' && c != ' ') || (sep != '\0' && c != sep)) return false;
      sep = c;
    }
    if (DigitRun(t, pos, 4) != kGroups[g] || (g == 0 && t[pos] < '2')) return false;
    pos += kGroups[g];
  }
  if (!NumberEndOk(t, pos)) return false;
  *end = pos;
  return true;
}

bool MatchPhone(std::string_view t, size_t i, size_t* end) {
  switch (t[i]) {
    case '+':
      return MatchIntlPhone(t, i, end);
    case '(':
      return MatchParenPhone(t, i, end);
    case '0':
      return MatchTrunkPhone(t, i, end);
    default:
      return IsDigit(t[i]) && MatchNanpPhone(t, i, end);
  }
}

// A non-email match starting at i, in precedence order.
bool MatchAt(std::string_view t, size_t i, PiiMatch* m) {
  const char c = t[i];
  size_t end = 0;
  if ((IsHex(c) || c == ':') && MatchIpv6(t, i, &end)) {
    m->kind = PiiKind::kIpv6;
  } else if (IsDigit(c) && MatchIpv4(t, i, &end)) {
    m->kind = PiiKind::kIpv4;
  } else if (IsDigit(c) && MatchCard(t, i, &end)) {
    m->kind = PiiKind::kCard;
  } else if ((IsDigit(c) || c == '+' || c == '(') && MatchPhone(t, i, &end)) {
    m->kind = PiiKind::kPhone;
  } else {
    return false;
  }
  m->begin = i;
  m->end = end;
  return true;
}

}  // namespace

std::string_view PiiKindName(PiiKind kind) {
  switch (kind) {
    case PiiKind::kEmail:
      return "email";
    case PiiKind::kPhone:
      return "phone";
    case PiiKind::kIpv4:
      return "ipv4";
    case PiiKind::kIpv6:
      return "ipv6";
    case PiiKind::kCard:
      return "card";
  }
  return "unknown";
}

void FindPii(std::string_view text, std::vector<PiiMatch>* out) {
  out->clear();
  PiiMatch email;
  bool have_email = NextEmail(text, 0, &email);
  size_t i = 0;
  while (i < text.size()) {
    if (have_email && i >= email.begin) {
      out->push_back(email);
      i = email.end;
      have_email = NextEmail(text, i, &email);
      continue;
    }
    // Emails take precedence: anything else must end before the next one starts.
    const size_t limit = have_email ? email.begin : text.size();
    PiiMatch m;
    if (MatchAt(text, i, &m) && m.end <= limit) {
      out->push_back(m);
      i = m.end;
    } else {
      ++i;
    }
  }
}

std::string ScrubText(std::string_view text,
                      const std::function<std::string(std::string_view, PiiKind)>& replace) {
  std::vector<PiiMatch> matches;
  FindPii(text, &matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const PiiMatch& m : matches) {
    out.append(text.substr(pos, m.begin - pos));
    out.append(replace(text.substr(m.begin, m.end - m.begin), m.kind));
    pos = m.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace tidegate::filters
