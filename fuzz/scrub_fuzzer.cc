// SPDX-License-Identifier: Apache-2.0
// Fuzzes the scrub scanner (filters/scrubber.h) with arbitrary bytes as the text and checks
// its contract: matches are in bounds, non-empty, ascending and non-overlapping; a match
// scanned on its own is found whole with the same kind (no context-dependent half-matches);
// ScrubText with the identity keeps the text; ScrubText splices each replacement exactly where
// FindPii put its match.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "filters/scrubber.h"
#include "fuzz/fuzz_check.h"

namespace {

using tidegate::filters::FindPii;
using tidegate::filters::PiiKind;
using tidegate::filters::PiiKindName;
using tidegate::filters::PiiMatch;
using tidegate::filters::ScrubText;

void CheckMatches(std::string_view text, const std::vector<PiiMatch>& matches) {
  size_t prev_end = 0;
  std::vector<PiiMatch> alone;
  for (const PiiMatch& m : matches) {
    TG_FUZZ_CHECK(m.begin >= prev_end);
    TG_FUZZ_CHECK(m.begin < m.end);
    TG_FUZZ_CHECK(m.end <= text.size());
    prev_end = m.end;
    FindPii(text.substr(m.begin, m.end - m.begin), &alone);
    TG_FUZZ_CHECK(alone.size() == 1);
    TG_FUZZ_CHECK(alone[0].begin == 0 && alone[0].end == m.end - m.begin);
    TG_FUZZ_CHECK(alone[0].kind == m.kind);
  }
}

void CheckScrub(std::string_view text, const std::vector<PiiMatch>& matches) {
  const auto identity = [](std::string_view match, PiiKind) { return std::string(match); };
  TG_FUZZ_CHECK(ScrubText(text, identity) == text);

  size_t calls = 0;
  const auto marker = [&](std::string_view match, PiiKind kind) {
    TG_FUZZ_CHECK(calls < matches.size());
    const PiiMatch& m = matches[calls++];
    TG_FUZZ_CHECK(match == text.substr(m.begin, m.end - m.begin));
    TG_FUZZ_CHECK(kind == m.kind);
    std::string replacement = "<";  // append, not operator+: GCC 12 -O3 false -Wrestrict
    return replacement.append(PiiKindName(kind)).append(">");
  };
  std::string want;
  size_t pos = 0;
  for (const PiiMatch& m : matches) {
    want.append(text.substr(pos, m.begin - pos));
    want.append("<").append(PiiKindName(m.kind)).append(">");
    pos = m.end;
  }
  want.append(text.substr(pos));
  TG_FUZZ_CHECK(ScrubText(text, marker) == want);
  TG_FUZZ_CHECK(calls == matches.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<PiiMatch> matches;
  FindPii(text, &matches);
  CheckMatches(text, matches);
  CheckScrub(text, matches);
  return 0;
}
