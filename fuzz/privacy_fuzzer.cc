// SPDX-License-Identifier: Apache-2.0
// Fuzzes JSON Pointer rule application: arbitrary bytes go through the event parser (as on
// the ingest path) and, when accepted, through the privacy stage with rules on nested
// objects, array elements and every action. Invariants: no crash, and a rewritten payload
// is always valid JSON without the dropped field's marker key.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/clock.h"
#include "filters/event_parser.h"
#include "filters/privacy_filter.h"

namespace {

struct Harness {
  Harness() {
    if (sodium_init() < 0) std::abort();
    events.device_id_topic_level = 1;
    events.event_time_field = "/ts";
    tidegate::PrivacyRule rule;
    rule.match = "devices/#";
    rule.drop = {"/drop_me", "/a/1", "/n/x/drop_me"};
    rule.tokenize = {"/user/email", "/a/0", "/n/x/y", "/obj"};
    rule.encrypt = {"/user/phone", "/a/2"};
    rule.scrub = {"/note", "/n"};
    rule.mask = {{"/ip", tidegate::MaskKind::kIpv4Prefix24},
                 {"/ip6", tidegate::MaskKind::kIpv6Prefix48},
                 {"/card", tidegate::MaskKind::kKeepLast4},
                 {"/born", tidegate::MaskKind::kYearOnly}};
    privacy.rules = {rule};
    crypto_box_keypair(pk.data(), sk.data());
    filter = std::move(tidegate::filters::PrivacyFilter::Create(privacy, &keys, pk,
                                                                tidegate::RealClock()))
                 .value();
  }
  tidegate::EventsSection events;
  tidegate::PrivacySection privacy;
  tidegate::filters::TokenKeySet keys = tidegate::filters::TokenKeySet::Generate("k1");
  tidegate::schema::PublicKey pk{};
  tidegate::schema::SecretKey sk{};
  std::unique_ptr<tidegate::filters::PrivacyFilter> filter;
  simdjson::dom::parser checker;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness h;
  static tidegate::filters::EventParser parser(h.events, 1 << 20);
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  tidegate::Event event;
  if (parser.Parse("devices/d1/telemetry", payload, 0, &event) !=
      tidegate::filters::DropReason::kNone) {
    return 0;
  }
  std::string out;
  auto result = h.filter->Apply("devices/d1/telemetry", event.payload, &out);
  if (result.rewritten) {
    simdjson::dom::element doc;
    if (h.checker.parse(out).get(doc) != simdjson::SUCCESS) std::abort();
    simdjson::dom::element dropped;
    if (doc.at_pointer("/drop_me").get(dropped) == simdjson::SUCCESS) std::abort();
  }
  return 0;
}
