// SPDX-License-Identifier: Apache-2.0
#include "filters/privacy_filter.h"

#include <catch2/catch.hpp>
#include <set>

#include "filters/tokenizer.h"

namespace {

using tidegate::MaskKind;
using tidegate::PrivacyRule;
using tidegate::PrivacySection;
using tidegate::filters::PrivacyFilter;
using tidegate::filters::PrivacyResult;
using tidegate::filters::TokenKeySet;

// Builds a rule (designated initializers with omitted members trip -Wmissing-field-initializers).
PrivacyRule Rule(const std::string& match, std::vector<std::string> PrivacyRule::*list,
                 std::vector<std::string> paths) {
  PrivacyRule rule;
  rule.match = match;
  rule.*list = std::move(paths);
  return rule;
}

struct Fixture {
  Fixture() {
    REQUIRE(sodium_init() >= 0);
    crypto_box_keypair(pk.data(), sk.data());
  }
  std::unique_ptr<PrivacyFilter> Make(std::vector<PrivacyRule> rules) {
    config.rules = std::move(rules);
    auto f = PrivacyFilter::Create(config, &keys, pk, tidegate::RealClock());
    REQUIRE(f.ok());
    return std::move(f).value();
  }
  std::string Token(std::string_view v) {
    return tidegate::filters::Tokenizer(keys.current()).Token(v);
  }

  PrivacySection config;
  TokenKeySet keys = TokenKeySet::Generate("k1");
  tidegate::schema::PublicKey pk{};
  tidegate::schema::SecretKey sk{};
};

std::string Run(PrivacyFilter& f, std::string_view payload, PrivacyResult* result = nullptr,
                std::string_view topic = "devices/d1/telemetry") {
  std::string out;
  PrivacyResult r = f.Apply(topic, payload, &out);
  REQUIRE_FALSE(r.failed);
  REQUIRE(r.rewritten);
  simdjson::dom::parser check;
  INFO(out);
  CHECK_FALSE(check.parse(out).error());  // always valid JSON
  if (result) *result = std::move(r);
  return out;
}

}  // namespace

TEST_CASE("drop removes fields and array elements, nested or not", "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("#", &PrivacyRule::drop, {"/user/ssn", "/tags/1", "/gone"})});
  CHECK(Run(*f, R"({"a": 1, "user": {"ssn": "123", "name": "x"}, "tags": ["p", "q", "r"]})") ==
        R"({"a":1,"user":{"name":"x"},"tags":["p","r"]})");
  CHECK(Run(*f, R"({"user": {"ssn": "1"}, "gone": 2})") == R"({"user":{}})");
  CHECK(f->counters().dropped == 4);
}

TEST_CASE("tokenize uses canonical text, and null stays null", "[filters][privacy]") {
  Fixture fx;
  auto f =
      fx.Make({Rule("#", &PrivacyRule::tokenize, {"/email", "/n", "/f", "/b", "/z", "/list/0"})});
  std::string out =
      Run(*f, R"({"email":"alice@example.com","n":42,"f":1.50,"b":true,"z":null,"list":["x"]})");
  CHECK(out == "{\"email\":\"" + fx.Token("alice@example.com") + "\",\"n\":\"" + fx.Token("42") +
                   "\",\"f\":\"" + fx.Token("1.5") + "\",\"b\":\"" + fx.Token("true") +
                   "\",\"z\":null,\"list\":[\"" + fx.Token("x") + "\"]}");
  // Escapes are resolved before hashing: the same string written two ways, one token.
  CHECK(Run(*f, R"({"email":"al\u0069ce@example.com"})") ==
        "{\"email\":\"" + fx.Token("alice@example.com") + "\"}");
}

TEST_CASE("mask keeps the safe part and drops values that do not fit", "[filters][privacy]") {
  Fixture fx;
  PrivacyRule rule;
  rule.match = "#";
  rule.mask = {{"/ip", MaskKind::kIpv4Prefix24},
               {"/card", MaskKind::kKeepLast4},
               {"/born", MaskKind::kYearOnly}};
  auto f = fx.Make({rule});
  CHECK(Run(*f, R"({"ip":"192.168.1.77","card":"4111111111111111","born":"1984-07-23"})") ==
        R"({"ip":"192.168.1.0/24","card":"************1111","born":"1984"})");
  CHECK(Run(*f, R"({"ip":"not an ip","card":"123","born":{"y":1},"k":1})") == R"({"k":1})");
  CHECK(f->counters().mask_unfit == 3);
}

TEST_CASE("encrypt seals values that only the recipient can open", "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("#", &PrivacyRule::encrypt, {"/user"})});
  PrivacyResult result;
  std::string out = Run(*f, R"({"user":{"email":"bob@example.com","age":31},"t":1})", &result);
  CHECK(out.find("bob") == std::string::npos);
  REQUIRE(result.started_epoch.has_value());
  CHECK(result.key_epoch == result.started_epoch->epoch);
  auto data_key = tidegate::schema::OpenDataKey(result.started_epoch->sealed, fx.pk, fx.sk);
  REQUIRE(data_key.ok());
  size_t start = out.find("enc:");
  size_t end = out.find('"', start);
  auto plain = tidegate::schema::OpenSealedValue(out.substr(start, end - start), *data_key);
  REQUIRE(plain.ok());
  CHECK(*plain == R"({"email":"bob@example.com","age":31})");
  PrivacyResult second;
  Run(*f, R"({"user":"x"})", &second);
  CHECK_FALSE(second.started_epoch.has_value());  // same epoch: the key is sealed once
  CHECK(second.key_epoch == result.key_epoch);
}

TEST_CASE("every sealed value has its own nonce across the nonce pool's refills",
          "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("#", &PrivacyRule::encrypt, {"/v"})});
  PrivacyResult first;
  Run(*f, R"({"v":0})", &first);
  REQUIRE(first.started_epoch.has_value());
  auto data_key = tidegate::schema::OpenDataKey(first.started_epoch->sealed, fx.pk, fx.sk);
  REQUIRE(data_key.ok());
  std::set<std::string> nonces;
  constexpr int kValues = 1000;  // the pool holds 128: several refills
  for (int i = 1; i <= kValues; ++i) {
    std::string out = Run(*f, R"({"v":)" + std::to_string(i) + "}");
    size_t start = out.find("enc:");
    size_t end = out.find('"', start);
    std::string sealed = out.substr(start, end - start);
    auto plain = tidegate::schema::OpenSealedValue(sealed, *data_key);
    REQUIRE(plain.ok());
    CHECK(*plain == std::to_string(i));
    // base64url of the 24-byte nonce: the first 32 characters after "enc:<epoch>:".
    nonces.insert(sealed.substr(sealed.find(':', 4) + 1, 32));
  }
  CHECK(nonces.size() == kValues);
}

TEST_CASE("scrub tokenizes PII inside free text and every string of a subtree",
          "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("#", &PrivacyRule::scrub, {"/note", "/more"})});
  std::string out =
      Run(*f, R"({"note":"mail bob@example.com now","more":{"a":["ip 10.1.2.3"]},"n":5})");
  CHECK(out == "{\"note\":\"mail " + fx.Token("bob@example.com") + " now\",\"more\":{\"a\":[\"ip " +
                   fx.Token("10.1.2.3") + "\"]},\"n\":5}");
}

TEST_CASE("the strongest action wins on a path named by several rules", "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("devices/#", &PrivacyRule::tokenize, {"/x"}),
                    Rule("devices/+/telemetry", &PrivacyRule::drop, {"/x"})});
  CHECK(Run(*f, R"({"x":"secret","y":1})") == R"({"y":1})");
}

TEST_CASE("rules apply only to matching topics", "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("devices/+/telemetry", &PrivacyRule::drop, {"/x"})});
  std::string out = "untouched";
  PrivacyResult r = f->Apply("other/topic", R"({"x":1})", &out);
  CHECK_FALSE(r.rewritten);
  CHECK(out == "untouched");
  CHECK(Run(*f, R"({"x":1,"y":[1, 2.50e1, "s\"q"]})") == R"({"y":[1,2.50e1,"s\"q"]})");
}
