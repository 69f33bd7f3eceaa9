// SPDX-License-Identifier: Apache-2.0
#include "filters/scrubber.h"

#include <arpa/inet.h>

#include <cstring>

namespace tidegate::filters {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAtext(char c) { return IsAlnum(c) || (c != 0 && std::strchr("!#$%&'*+/=?^_`{|}~-.", c)); }
bool IsDomainChar(char c) { return IsAlnum(c) || c == '-' || c == '.'; }

bool BoundaryBefore(std::string_view t, size_t i) { return i == 0 || !IsAlnum(t[i - 1]); }
bool BoundaryAfter(std::string_view t, size_t end) { return end >= t.size() || !IsAlnum(t[end]); }

bool ValidDomain(std::string_view d) {
  size_t labels = 0;
  size_t start = 0;
  std::string_view last;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? d.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels < 2 || last.size() < 2) return false;
  for (char c : last) {
    if (!IsAlpha(c)) return false;
  }
  return true;
}

// An email around the '@' at `at`, as [*begin, *end).
bool EmailAt(std::string_view t, size_t at, size_t* begin, size_t* end) {
  size_t l = at;
  // Expand left over the local part; a double dot cannot be inside one, so stop there.
  while (l > 0 && at - l < 64 && IsAtext(t[l - 1]) &&
         !(t[l - 1] == '.' && l >= 2 && t[l - 2] == '.')) {
    --l;
  }
  while (l < at && t[l] == '.') ++l;  // a sentence's dot is not part of the address
  size_t r = at + 1;
  while (r < t.size() && r - at < 254 && IsDomainChar(t[r])) ++r;
  while (r > at + 1 && (t[r - 1] == '.' || t[r - 1] == '-')) --r;
  std::string_view local = t.substr(l, at - l);
  if (local.empty() || local.back() == '.' || local.find("..") != local.npos) return false;
  if (!ValidDomain(t.substr(at + 1, r - at - 1))) return false;
  if (!BoundaryBefore(t, l) && l > 0 && IsAtext(t[l - 1])) return false;
  *begin = l;
  *end = r;
  return true;
}

bool Ipv4At(std::string_view t, size_t i, size_t* end) {
  size_t r = i;
  while (r < t.size() && (IsDigit(t[r]) || t[r] == '.')) ++r;
  while (r > i && t[r - 1] == '.') --r;  // a trailing sentence dot
  std::string_view run = t.substr(i, r - i);
  if (i > 0 && t[i - 1] == '.') return false;  // inside a longer dotted run
  size_t parts = 0, start = 0;
  while (start <= run.size()) {
    size_t dot = run.find('.', start);
    std::string_view p = run.substr(start, dot == run.npos ? run.npos : dot - start);
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return false;
    int v = 0;
    for (char c : p) v = v * 10 + (c - '0');
    if (v > 255) return false;
    ++parts;
    if (dot == run.npos) break;
    start = dot + 1;
  }
  if (parts != 4 || !BoundaryAfter(t, r)) return false;
  *end = r;
  return true;
}

bool Ipv6At(std::string_view t, size_t i, size_t* end) {
  size_t r = i, colons = 0;
  while (r < t.size() && r - i < 45 && (IsHex(t[r]) || t[r] == ':' || t[r] == '.')) {
    colons += t[r++] == ':';
  }
  if (colons < 2) return false;  // cheap exit for ordinary words and numbers
  while (r > i && t[r - 1] == '.') --r;
  std::string run(t.substr(i, r - i));
  if (run.find("::") == std::string::npos && colons != 7) return false;
  in6_addr addr{};
  if (inet_pton(AF_INET6, run.c_str(), &addr) != 1 || !BoundaryAfter(t, r)) return false;
  *end = r;
  return true;
}

bool LuhnValid(const std::string& digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t k = digits.size(); k-- > 0;) {
    int d = digits[k] - '0';
    if (dbl && (d *= 2) > 9) d -= 9;
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool CardAt(std::string_view t, size_t i, size_t* end) {
  if (t[i] < '2' || t[i] > '6') return false;
  std::string digits;
  size_t r = i, last_digit = i;
  while (r < t.size() && digits.size() < 20) {
    if (IsDigit(t[r])) {
      digits.push_back(t[r]);
      last_digit = ++r;
    } else if ((t[r] == ' ' || t[r] == '-') && r + 1 < t.size() && IsDigit(t[r + 1]) &&
               IsDigit(t[r - 1])) {
      ++r;
    } else {
      break;
    }
  }
  if (digits.size() < 13 || digits.size() > 19 || !BoundaryAfter(t, last_digit)) return false;
  if (!LuhnValid(digits)) return false;
  *end = last_digit;
  return true;
}

// Reads a phone-like run from i: an optional leading '+', digits, and single separators
// ("(" opens an area code, ")" closes it). *shape gets 'd' per digit and the separators;
// *end the position after the last digit. Returns the number of digits.
size_t PhoneRun(std::string_view t, size_t i, size_t* end, std::string* shape) {
  size_t digits = 0, r = i;
  if (t[r] == '+') {
    shape->push_back('+');
    ++r;
  }
  while (r < t.size() && shape->size() < 32) {
    char c = t[r];
    char prev = shape->empty() ? '\0' : shape->back();
    if (IsDigit(c)) {
      shape->push_back('d');
      ++digits;
      *end = ++r;
      continue;
    }
    bool ok = (c == '(' && (prev == '\0' || prev == ' ' || prev == '+')) ||
              (c == ')' && prev == 'd') ||
              ((c == ' ' || c == '-' || c == '.') && (prev == 'd' || prev == ')'));
    if (!ok) break;
    shape->push_back(c);
    ++r;
  }
  while (!shape->empty() && shape->back() != 'd') shape->pop_back();  // trailing separators
  return digits;
}

bool PhoneAt(std::string_view t, size_t i, size_t* end) {
  std::string shape;
  size_t run_end = i;
  size_t digits = PhoneRun(t, i, &run_end, &shape);
  if (digits == 0 || !BoundaryAfter(t, run_end)) return false;
  if (t[i] == '+') {
    if (digits < 8 || digits > 15) return false;
  } else if (t[i] == '0') {
    if (digits < 9 || digits > 11 || shape.find_first_of(".:") != std::string::npos) return false;
  } else {
    // North American shape only: (ddd) ddd-dddd, ddd-ddd-dddd, ddd.ddd.dddd, ddd ddd dddd.
    static const char* kShapes[] = {"(ddd) ddd-dddd", "(ddd)ddd-dddd", "ddd-ddd-dddd",
                                    "ddd.ddd.dddd",   "ddd ddd dddd",  "(ddd) ddd dddd"};
    bool ok = false;
    for (const char* s : kShapes) ok = ok || shape == s;
    if (!ok) return false;
  }
  *end = run_end;
  return true;
}

bool MatchAt(std::string_view t, size_t i, PiiMatch* m) {
  size_t end = 0;
  char c = t[i];
  if (!BoundaryBefore(t, i)) return false;
  if ((IsHex(c) || c == ':') && Ipv6At(t, i, &end)) {
    *m = {i, end, PiiKind::kIpv6};
  } else if (IsDigit(c) && Ipv4At(t, i, &end)) {
    *m = {i, end, PiiKind::kIpv4};
  } else if (IsDigit(c) && CardAt(t, i, &end)) {
    *m = {i, end, PiiKind::kCard};
  } else if ((IsDigit(c) || c == '+' || c == '(') && PhoneAt(t, i, &end)) {
    *m = {i, end, PiiKind::kPhone};
  } else {
    return false;
  }
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
  std::vector<PiiMatch> emails;
  for (size_t at = text.find('@'); at != text.npos; at = text.find('@', at + 1)) {
    PiiMatch m{.begin = 0, .end = 0, .kind = PiiKind::kEmail};
    if (EmailAt(text, at, &m.begin, &m.end) && (emails.empty() || m.begin >= emails.back().end)) {
      emails.push_back(m);
    }
  }
  size_t next_email = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (next_email < emails.size() && i >= emails[next_email].begin) {
      out->push_back(emails[next_email]);
      i = emails[next_email++].end;
      continue;
    }
    PiiMatch m;
    size_t limit = next_email < emails.size() ? emails[next_email].begin : text.size();
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
