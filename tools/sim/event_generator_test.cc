// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/event_generator.h"

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/json_escape.h"
#include "common/time_format.h"

namespace tidegate::sim {
namespace {

constexpr int64_t kNowMs = 1'764'000'000'123;  // 2025-11-24T16:00:00.123Z

// Wall time stands still.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowUnixMs() override { return now_ms_; }
  std::chrono::steady_clock::time_point Monotonic() override { return {}; }

 private:
  int64_t now_ms_;
};

std::vector<SimEvent> Generate(const GeneratorOptions& options, uint64_t seed, int n,
                               int64_t now_ms = kNowMs) {
  FixedClock clock(now_ms);
  EventGenerator generator(options, seed, clock);
  std::vector<SimEvent> events;
  events.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) events.push_back(generator.Next());
  return events;
}

// The raw text of a field's number ("23.47"), so tests can check how it is written.
std::string RawNumber(const std::string& payload, const std::string& key) {
  const std::string prefix = "\"" + key + "\":";
  const size_t at = payload.find(prefix);
  if (at == std::string::npos) return "";
  const size_t begin = at + prefix.size();
  return payload.substr(begin, payload.find_first_of(",}", begin) - begin);
}

bool IsLowerHex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::vector<std::string> Keys(simdjson::dom::object object) {
  std::vector<std::string> keys;
  for (auto field : object) keys.emplace_back(field.key);
  return keys;
}

TEST_CASE("the same seed and options give the same events", "[sim]") {
  GeneratorOptions options;
  options.dup_rate = 0.1;
  options.late_fraction = 0.1;
  options.jitter = std::chrono::seconds(2);
  const std::vector<SimEvent> a = Generate(options, 42, 2000);
  const std::vector<SimEvent> b = Generate(options, 42, 2000);
  const std::vector<SimEvent> c = Generate(options, 43, 2000);
  int differences = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].topic == b[i].topic);
    CHECK(a[i].payload == b[i].payload);
    CHECK(a[i].duplicate == b[i].duplicate);
    CHECK(a[i].late == b[i].late);
    differences += a[i].payload != c[i].payload;
  }
  CHECK(differences == 2000);
}

TEST_CASE("random choices do not depend on the clock", "[sim]") {
  GeneratorOptions options;
  options.dup_rate = 0.2;
  const int64_t later_ms = kNowMs + 3'600'000;
  const std::vector<SimEvent> a = Generate(options, 7, 500, kNowMs);
  const std::vector<SimEvent> b = Generate(options, 7, 500, later_ms);
  for (size_t i = 0; i < a.size(); ++i) {
    std::string shifted = a[i].payload;
    const std::string from = "\"ts\":" + std::to_string(kNowMs);
    REQUIRE(shifted.find(from) != std::string::npos);
    shifted.replace(shifted.find(from), from.size(), "\"ts\":" + std::to_string(later_ms));
    CHECK(shifted == b[i].payload);
    CHECK(a[i].duplicate == b[i].duplicate);
  }
}

TEST_CASE("turning PII off changes no reading, id or decision", "[sim]") {
  GeneratorOptions with_pii;
  with_pii.dup_rate = 0.3;
  GeneratorOptions without_pii = with_pii;
  without_pii.pii = false;
  const std::vector<SimEvent> a = Generate(with_pii, 9, 300);
  const std::vector<SimEvent> b = Generate(without_pii, 9, 300);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& short_payload = b[i].payload;
    // The PII payload is the short one with ,"user":... inserted before the closing brace.
    CHECK(a[i].payload.substr(0, short_payload.size() - 1) ==
          short_payload.substr(0, short_payload.size() - 1));
    CHECK(a[i].duplicate == b[i].duplicate);
  }
}

TEST_CASE("dup-rate and late-fraction are respected over 10k events", "[sim]") {
  GeneratorOptions options;
  options.dup_rate = 0.1;
  options.late_fraction = 0.05;
  int duplicates = 0;
  int late = 0;
  for (const SimEvent& event : Generate(options, 1234, 10'000)) {
    duplicates += event.duplicate;
    late += event.late;
    if (event.late) CHECK(event.event_time_ms == kNowMs - int64_t{300'000});
  }
  // Binomial standard deviations are 30 and 22; these bounds are about 5 of them.
  CHECK(duplicates > 850);
  CHECK(duplicates < 1150);
  CHECK(late > 390);
  CHECK(late < 610);

  SECTION("zero and one are exact") {
    options.dup_rate = 0.0;
    options.late_fraction = 1.0;
    for (const SimEvent& event : Generate(options, 5, 1000)) {
      CHECK_FALSE(event.duplicate);
      CHECK(event.late);
    }
  }
}

TEST_CASE("the payload is a JSON object with the documented keys in order", "[sim]") {
  GeneratorOptions options;
  simdjson::dom::parser parser;
  for (const SimEvent& event : Generate(options, 77, 1000)) {
    INFO(event.payload);
    REQUIRE(IsValidUtf8(event.payload));
    simdjson::dom::object object;
    REQUIRE(parser.parse(simdjson::padded_string(event.payload)).get(object) == simdjson::SUCCESS);
    CHECK(Keys(object) == std::vector<std::string>{"device_id", "msg_id", "ts", "seq", "temp",
                                                   "humidity", "battery", "user", "ip", "note"});
    CHECK(std::string(object["device_id"].get_string().value()) == DeviceId(event.device));
    CHECK(event.topic == "devices/" + DeviceId(event.device) + "/telemetry");
    CHECK(std::string(object["msg_id"].get_string().value()) == event.msg_id);
    CHECK(object["ts"].get_int64().value() == kNowMs);
    const double temp = object["temp"].get_double().value();
    CHECK((temp >= 18.0 && temp <= 30.0));
    const std::string temp_text = RawNumber(event.payload, "temp");
    CHECK(temp_text.size() == 5);
    CHECK(temp_text[2] == '.');
    const double humidity = object["humidity"].get_double().value();
    CHECK((humidity >= 0.0 && humidity <= 100.0));
    const int64_t battery = object["battery"].get_int64().value();
    CHECK((battery >= 0 && battery <= 100));
    simdjson::dom::object user = object["user"].get_object().value();
    CHECK(Keys(user) == std::vector<std::string>{"email", "phone"});
    CHECK(std::string(user["email"].get_string().value()).find('@') != std::string::npos);
    CHECK(object["ip"].is_string());
    CHECK(object["note"].is_string());
  }
}

TEST_CASE("no PII keys are written with --no-pii", "[sim]") {
  GeneratorOptions options;
  options.pii = false;
  simdjson::dom::parser parser;
  for (const SimEvent& event : Generate(options, 3, 200)) {
    simdjson::dom::object object;
    REQUIRE(parser.parse(simdjson::padded_string(event.payload)).get(object) == simdjson::SUCCESS);
    CHECK(Keys(object) == std::vector<std::string>{"device_id", "msg_id", "ts", "seq", "temp",
                                                   "humidity", "battery"});
    CHECK(event.payload.find('@') == std::string::npos);
  }
}

TEST_CASE("msg ids are 16 lowercase hex digits and unique", "[sim]") {
  std::set<std::string> ids;
  for (const SimEvent& event : Generate(GeneratorOptions{}, 99, 100'000)) {
    if (event.msg_id.size() != 16 || !IsLowerHex(event.msg_id)) FAIL(event.msg_id);
    ids.insert(event.msg_id);
  }
  CHECK(ids.size() == 100'000);
}

TEST_CASE("seq counts per device from 1 and every device gets events", "[sim]") {
  GeneratorOptions options;
  options.devices = 25;
  std::map<uint32_t, int64_t> last_seq;
  for (const SimEvent& event : Generate(options, 11, 5000)) {
    CHECK(std::stoll(RawNumber(event.payload, "seq")) == ++last_seq[event.device]);
  }
  CHECK(last_seq.size() == 25);
}

TEST_CASE("event times follow the clock, the jitter and the time format", "[sim]") {
  GeneratorOptions options;
  options.jitter = std::chrono::milliseconds(2000);
  int64_t earliest = kNowMs;
  for (const SimEvent& event : Generate(options, 21, 5000)) {
    CHECK(event.event_time_ms <= kNowMs);
    CHECK(event.event_time_ms >= kNowMs - 2000);
    earliest = std::min(earliest, event.event_time_ms);
  }
  CHECK(earliest < kNowMs - 1900);

  options.jitter = std::chrono::milliseconds(0);
  SECTION("unix_s is whole seconds") {
    options.time_format = TimeFormat::kUnixS;
    const SimEvent event = Generate(options, 1, 1).front();
    CHECK(event.payload.find("\"ts\":1764000000,") != std::string::npos);
  }
  SECTION("rfc3339 is a UTC string with milliseconds") {
    options.time_format = TimeFormat::kRfc3339;
    const SimEvent event = Generate(options, 1, 1).front();
    CHECK(event.payload.find("\"ts\":\"" + FormatRfc3339Ms(kNowMs) + "\",") != std::string::npos);
  }
}

TEST_CASE("notes sometimes carry emails, phone numbers and addresses", "[sim]") {
  simdjson::dom::parser parser;
  int with_email = 0;
  int with_phone = 0;
  int plain = 0;
  for (const SimEvent& event : Generate(GeneratorOptions{}, 5, 2000)) {
    simdjson::dom::object object;
    REQUIRE(parser.parse(simdjson::padded_string(event.payload)).get(object) == simdjson::SUCCESS);
    const std::string note(object["note"].get_string().value());
    with_email += note.find('@') != std::string::npos;
    with_phone += note.find("555") != std::string::npos || note.find("7946") != std::string::npos;
    plain += note.find_first_of("@0123456789") == std::string::npos;
  }
  CHECK(with_email > 100);
  CHECK(with_phone > 100);
  CHECK(plain > 500);
}

TEST_CASE("device ids and time format names", "[sim]") {
  CHECK(DeviceId(0) == "dev-0001");
  CHECK(DeviceId(9998) == "dev-9999");
  CHECK(DeviceId(9999) == "dev-10000");
  CHECK(*ParseTimeFormat("unix_ms") == TimeFormat::kUnixMs);
  CHECK(*ParseTimeFormat("rfc3339") == TimeFormat::kRfc3339);
  CHECK(ParseTimeFormat("iso").status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
TEST_CASE("broken firmware: the chosen share of devices breaks every event, others none",
          "[sim][schema]") {
  GeneratorOptions options;
  options.devices = 10;
  options.broken_firmware = 0.3;
  const std::vector<SimEvent> events = Generate(options, 7, 3000);
  std::set<uint32_t> broken_devices;
  std::map<Breakage, int> kinds;
  GeneratorOptions sound = options;
  sound.broken_firmware = 0;
  const std::vector<SimEvent> same = Generate(sound, 7, 3000);
  for (size_t i = 0; i < events.size(); ++i) {
    const SimEvent& e = events[i];
    CHECK(e.msg_id == same[i].msg_id);  // nothing else changes
    CHECK(e.device == same[i].device);
    if (e.broken == Breakage::kNone) {
      CHECK(e.payload == same[i].payload);
      continue;
    }
    broken_devices.insert(e.device);
    ++kinds[e.broken];
    switch (e.broken) {
      case Breakage::kNumbersAsStrings:
        CHECK(e.payload.find(R"("temp":")") != std::string::npos);
        CHECK(e.payload.find(R"("humidity":")") != std::string::npos);
        break;
      case Breakage::kMissingRequired:
        CHECK(e.payload.find(R"("battery":)") == std::string::npos);
        break;
      case Breakage::kOutOfRange:
        CHECK(e.payload.find(R"("humidity":10)") != std::string::npos);
        break;
      case Breakage::kNone:
        break;
    }
  }
  CHECK(broken_devices.size() == 3);
  for (const SimEvent& e : events) {
    CHECK((broken_devices.count(e.device) == 1) == (e.broken != Breakage::kNone));
  }
  CHECK(kinds.size() == 3);
  CHECK(BreakageName(Breakage::kOutOfRange) == "out_of_range");
}

}  // namespace tidegate::sim
