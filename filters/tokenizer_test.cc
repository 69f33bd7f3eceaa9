// SPDX-License-Identifier: Apache-2.0
#include "filters/tokenizer.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "filters/token_keys.h"

using tidegate::filters::Tokenizer;
using tidegate::filters::TokenKeySet;

namespace {

// Keys 00 01 .. 1f and 01 02 .. 20, as hex lines of a key file.
constexpr const char* kKeyFile =
    "# test keys\n"
    "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f retired\n"
    "k2 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 current\n";

}  // namespace

TEST_CASE("a fixed key and value give a fixed token", "[filters][privacy]") {
  auto keys = TokenKeySet::Parse(kKeyFile, "keys");
  REQUIRE(keys.ok());
  // Vectors computed independently: Python hashlib.blake2b(value, digest_size=16, key=key).
  Tokenizer k1(*keys->Find("k1"));
  CHECK(k1.Token("alice@example.com") == "tok:k1:Xmyd7UtRLfPklZiiXfhGeQ");
  CHECK(k1.Token("42") == "tok:k1:J77ExlO6VpBuCz6j5YEb9A");
  CHECK(k1.Token("true") == "tok:k1:0kfd7YFKY2XCqKjhpZgHpQ");
  Tokenizer k2(keys->current());
  CHECK(keys->current().id == "k2");
  CHECK(k2.Token("alice@example.com") == "tok:k2:Z9gLFDFS6NlDUvwcw63tJw");
}

TEST_CASE("tokens are deterministic per key and differ across keys", "[filters][privacy]") {
  auto a = TokenKeySet::Generate("a");
  auto b = TokenKeySet::Generate("b");
  Tokenizer ta(a.current()), tb(b.current());
  CHECK(ta.Token("x") == ta.Token("x"));
  CHECK(ta.Token("x") != ta.Token("y"));
  CHECK(ta.Token("x").substr(6) != tb.Token("x").substr(6));
}

TEST_CASE("rotation keeps old tokens reproducible under their key id", "[filters][privacy]") {
  auto keys = TokenKeySet::Generate("k1");
  std::string before = Tokenizer(keys.current()).Token("alice@example.com");
  REQUIRE(keys.Rotate("k2").ok());
  CHECK(keys.current().id == "k2");
  auto reparsed = TokenKeySet::Parse(keys.Serialize(), "rotated");
  REQUIRE(reparsed.ok());
  REQUIRE(reparsed->Find("k1") != nullptr);
  CHECK_FALSE(reparsed->Find("k1")->current);
  CHECK(Tokenizer(*reparsed->Find("k1")).Token("alice@example.com") == before);
  CHECK(Tokenizer(reparsed->current()).Token("alice@example.com").rfind("tok:k2:", 0) == 0);
  CHECK_FALSE(keys.Rotate("k2").ok());
}

TEST_CASE("bad key files are refused without quoting key bytes", "[filters][privacy]") {
  CHECK_FALSE(TokenKeySet::Parse("", "f").ok());
  CHECK_FALSE(TokenKeySet::Parse("k1 00 current\n", "f").ok());
  std::string hex(64, 'a');
  CHECK_FALSE(TokenKeySet::Parse("k1 " + hex + " retired\n", "f").ok());  // no current key
  auto two = TokenKeySet::Parse("k1 " + hex + " current\nk2 " + hex + " current\n", "f");
  CHECK_FALSE(two.ok());
  auto dup = TokenKeySet::Parse("k1 " + hex + " current\nk1 " + hex + " retired\n", "f");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find(hex) == std::string::npos);
  auto bad_id = TokenKeySet::Parse("k/1 " + hex + " current\n", "f");
  CHECK_FALSE(bad_id.ok());
}

TEST_CASE("a key file readable by group or others is refused", "[filters][privacy]") {
  char tmpl[] = "/tmp/tg-keys-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/token.keys";
  REQUIRE(tidegate::filters::WritePrivateFile(path, TokenKeySet::Generate("k1").Serialize()).ok());
  CHECK(TokenKeySet::Load(path).ok());
  REQUIRE(chmod(path.c_str(), 0640) == 0);
  auto refused = TokenKeySet::Load(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("0640") != std::string::npos);
  std::filesystem::remove_all(dir);
}
