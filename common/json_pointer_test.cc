// SPDX-License-Identifier: Apache-2.0
#include "common/json_pointer.h"

#include <catch2/catch.hpp>

using tidegate::JsonPointer;

TEST_CASE("JSON Pointers split into unescaped tokens", "[common]") {
  auto p = JsonPointer::Parse("/user/e~1mail/~0x/0");
  REQUIRE(p.ok());
  CHECK(p->tokens() == std::vector<std::string>{"user", "e/mail", "~x", "0"});
  CHECK(JsonPointer::Parse("")->IsRoot());
  CHECK(JsonPointer::Parse("/")->tokens() == std::vector<std::string>{""});
}

TEST_CASE("malformed JSON Pointers are rejected", "[common]") {
  CHECK_FALSE(JsonPointer::Parse("user").ok());
  CHECK_FALSE(JsonPointer::Parse("/a~2").ok());
  CHECK_FALSE(JsonPointer::Parse("/a~").ok());
}

TEST_CASE("array indexes are canonical decimal", "[common]") {
  size_t i = 0;
  CHECK((tidegate::ParseArrayIndex("0", &i) && i == 0));
  CHECK((tidegate::ParseArrayIndex("17", &i) && i == 17));
  CHECK_FALSE(tidegate::ParseArrayIndex("01", &i));
  CHECK_FALSE(tidegate::ParseArrayIndex("-1", &i));
  CHECK_FALSE(tidegate::ParseArrayIndex("", &i));
}
