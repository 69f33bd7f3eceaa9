// SPDX-License-Identifier: Apache-2.0
#include "common/json_escape.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("JSON strings escape quotes, backslashes and control characters", "[common]") {
  std::string out;
  tidegate::AppendJsonString(&out, "a\"b\\c\n\x01\xc3\xa9");
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
}

TEST_CASE("UTF-8 validation rejects overlongs, surrogates and truncation", "[common]") {
  CHECK(tidegate::IsValidUtf8("plain ascii"));
  CHECK(tidegate::IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(tidegate::IsValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(tidegate::IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(tidegate::IsValidUtf8("\xe2\x82"));          // truncated
  CHECK_FALSE(tidegate::IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(tidegate::IsValidUtf8("\xff"));
}

TEST_CASE("UTF-8 is checked at every offset around the eight-byte ASCII steps", "[common]") {
  for (size_t at = 0; at <= 24; ++at) {
    std::string text(24, 'a');
    CHECK(tidegate::IsValidUtf8(text));
    text.insert(at, "\xe2\x82\xac");  // a 3-byte sequence, wherever the 8-byte words fall
    CHECK(tidegate::IsValidUtf8(text));
    text.replace(at, 3, "\xe2\x82");  // truncated by the ASCII that follows
    CHECK_FALSE(tidegate::IsValidUtf8(text));
    text.replace(at, 2, "\x80");  // a lone continuation byte
    CHECK_FALSE(tidegate::IsValidUtf8(text));
    CHECK_FALSE(tidegate::IsValidUtf8(std::string(at, 'a') + "\xf0\x9f\x98"));  // cut at the end
  }
}
