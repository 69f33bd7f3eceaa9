// SPDX-License-Identifier: Apache-2.0
#include "filters/privacy_filter.h"

#include <catch2/catch.hpp>
#include <set>
#include <string_view>

#include "common/varint.h"
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

namespace {

// The sealed value in a filter's output and the counter it carries: "enc:<epoch>.<base64url(
// varint counter || ciphertext || tag)>" (schema/sealed_value.h).
std::string SealedIn(const std::string& out) {
  const size_t start = out.find("enc:");
  return out.substr(start, out.find('"', start) - start);
}

uint64_t CounterOf(const std::string& sealed) {
  const size_t dot = sealed.find('.', 4);
  REQUIRE(dot != std::string::npos);
  std::string box(sealed.size(), '\0');
  size_t len = 0;
  REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(),
                            sealed.data() + dot + 1, sealed.size() - dot - 1, nullptr, &len,
                            nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
  std::string_view rest(box.data(), len);
  uint64_t counter = 0;
  REQUIRE(tidegate::GetVarint(&rest, &counter));
  return counter;
}

}  // namespace

// The nonce of a sealed value is its counter within the epoch: the values of one epoch must
// carry 0, 1, 2, ... so that no nonce repeats under its key.
TEST_CASE("every sealed value of an epoch has its own nonce: the epoch's counter",
          "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("#", &PrivacyRule::encrypt, {"/v"})});
  PrivacyResult first;
  const std::string first_out = Run(*f, R"({"v":0})", &first);
  REQUIRE(first.started_epoch.has_value());
  CHECK(CounterOf(SealedIn(first_out)) == 0);
  auto data_key = tidegate::schema::OpenDataKey(first.started_epoch->sealed, fx.pk, fx.sk);
  REQUIRE(data_key.ok());
  std::set<uint64_t> counters;
  constexpr int kValues = 1000;  // counters past one varint byte
  for (int i = 1; i <= kValues; ++i) {
    const std::string sealed = SealedIn(Run(*f, R"({"v":)" + std::to_string(i) + "}"));
    auto plain = tidegate::schema::OpenSealedValue(sealed, *data_key);
    REQUIRE(plain.ok());
    CHECK(*plain == std::to_string(i));
    const uint64_t counter = CounterOf(sealed);
    CHECK(counter == static_cast<uint64_t>(i));
    counters.insert(counter);
  }
  CHECK(counters.size() == kValues);
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

TEST_CASE("each topic gets the rules that match it, past the filter's topic cache",
          "[filters][privacy]") {
  Fixture fx;
  auto f = fx.Make({Rule("devices/#", &PrivacyRule::drop, {"/x"}),
                    Rule("+/+/telemetry", &PrivacyRule::drop, {"/y"})});
  // 10,000 topics, each twice: more than the 4,096 the filter remembers, and four sets of
  // matching rules (both, the first, the second, none), which the output tells apart.
  struct Kind {
    std::string prefix, suffix, expected;  // expected "": no rule matches
  };
  const std::vector<Kind> kinds = {{"devices/", "/telemetry", R"({"z":3})"},
                                   {"devices/", "/status", R"({"y":2,"z":3})"},
                                   {"sensors/", "/telemetry", R"({"x":1,"z":3})"},
                                   {"other/", "", ""}};
  const std::string payload = R"({"x":1,"y":2,"z":3})";
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10'000; ++i) {
      const Kind& kind = kinds[i % kinds.size()];
      const std::string topic = kind.prefix + std::to_string(i) + kind.suffix;
      INFO(topic << ", round " << round);
      std::string out = "untouched";
      PrivacyResult r = f->Apply(topic, payload, &out);
      CHECK(r.rewritten == !kind.expected.empty());
      CHECK(out == (kind.expected.empty() ? "untouched" : kind.expected));
    }
  }
}
