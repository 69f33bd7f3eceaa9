// SPDX-License-Identifier: Apache-2.0
#include "common/json_escape.h"

#include <catch2/catch.hpp>

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
