// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/event_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <iterator>
#include <utility>

#include "common/json_escape.h"
#include "common/time_format.h"

namespace tidegate::sim {
namespace {

// The splitmix64 finalizer: a bijection on 64-bit values, so distinct inputs never collide.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Salts keep the device, event and id streams of one seed unrelated to each other.
constexpr uint64_t kDeviceSalt = 0x6465766963657321ull;
constexpr uint64_t kEventSalt = 0x6576656e74737472ull;
constexpr uint64_t kIdSalt = 0x6d73672d69642d31ull;
constexpr uint64_t kTopicSalt = 0x746f7069632d7331ull;
constexpr uint64_t kFirmwareSalt = 0x6669726d77617265ull;
constexpr uint64_t kBrokenSalt = 0x62726f6b656e2d31ull;

std::vector<TopicTemplate> TopicsOf(const GeneratorOptions& options) {
  if (!options.topics.empty()) return options.topics;
  return {TopicTemplate{.pattern = options.topic_prefix + "/{device}/telemetry", .weight = 1}};
}

// Keeps value in [lo, hi] by reflecting it off the bound it crossed, so a random walk
// neither sticks to nor escapes its range.
int32_t Reflect(int32_t value, int32_t lo, int32_t hi) {
  if (value > hi) return 2 * hi - value;
  if (value < lo) return 2 * lo - value;
  return value;
}

int32_t RandomStep(Rng& rng, int32_t max_step) {
  return static_cast<int32_t>(rng.Uniform(2 * static_cast<uint64_t>(max_step) + 1)) - max_step;
}

}  // namespace

Result<TimeFormat> ParseTimeFormat(std::string_view name) {
  if (name == "unix_ms") return TimeFormat::kUnixMs;
  if (name == "unix_s") return TimeFormat::kUnixS;
  if (name == "rfc3339") return TimeFormat::kRfc3339;
  return InvalidArgument("unknown time format '" + std::string(name) +
                         "': expected unix_ms, unix_s or rfc3339");
}

std::string_view BreakageName(Breakage breakage) {
  switch (breakage) {
    case Breakage::kNone:
      return "";
    case Breakage::kNumbersAsStrings:
      return "numbers_as_strings";
    case Breakage::kMissingRequired:
      return "missing_required";
    case Breakage::kOutOfRange:
      return "out_of_range";
  }
  return "";
}

std::string DeviceId(uint32_t index) { return fmt::format("dev-{:04}", uint64_t{index} + 1); }

EventGenerator::EventGenerator(GeneratorOptions options, uint64_t seed, Clock& clock)
    : options_(std::move(options)),
      event_key_(Mix64(seed ^ kEventSalt)),
      id_key_(Mix64(seed ^ kIdSalt)),
      topic_key_(Mix64(seed ^ kTopicSalt)),
      broken_key_(Mix64(seed ^ kBrokenSalt)),
      topics_(TopicsOf(options_)),
      clock_(clock) {
  assert(options_.devices >= 1);
  assert(options_.dup_rate >= 0.0 && options_.dup_rate <= 1.0);
  assert(options_.late_fraction >= 0.0 && options_.late_fraction <= 1.0);
  devices_.resize(options_.devices);
  const uint64_t device_key = Mix64(seed ^ kDeviceSalt);
  for (uint32_t i = 0; i < options_.devices; ++i) {
    Rng rng(Mix64(device_key + i));
    Device& device = devices_[i];
    device.temp_centi = 1800 + static_cast<int32_t>(rng.Uniform(1201));
    device.humidity_deci = 300 + static_cast<int32_t>(rng.Uniform(501));
    device.battery = 60 + static_cast<int32_t>(rng.Uniform(41));
    device.owner = MakeIdentity(rng);
  }
  PickNewFirmware(seed);
}

// Exactly round(share x devices) devices, the ones whose seeded hash sorts first.
void EventGenerator::PickNewFirmware(uint64_t seed) {
  const auto count = static_cast<size_t>(
      std::llround(options_.broken_firmware * static_cast<double>(options_.devices)));
  if (count == 0) return;
  const uint64_t key = Mix64(seed ^ kFirmwareSalt);
  std::vector<std::pair<uint64_t, uint32_t>> order;
  for (uint32_t i = 0; i < options_.devices; ++i) order.emplace_back(Mix64(key + i), i);
  std::sort(order.begin(), order.end());
  for (size_t i = 0; i < count && i < order.size(); ++i) {
    devices_[order[i].second].new_firmware = true;
  }
}

void EventGenerator::Step(Device& device, Rng& rng) {
  ++device.seq;
  device.temp_centi = Reflect(device.temp_centi + RandomStep(rng, 15), 1800, 3000);
  device.humidity_deci = Reflect(device.humidity_deci + RandomStep(rng, 10), 150, 950);
  // Drains one percent every ~200 readings; an empty battery is replaced by a full one.
  if (rng.Uniform(200) == 0) device.battery = device.battery > 0 ? device.battery - 1 : 100;
}

SimEvent EventGenerator::Next() {
  SimEvent event;
  event.index = next_index_++;
  // Each event draws from its own stream in a fixed order, so that neither timing nor
  // options that add draws later (PII) change the devices, readings or decisions.
  Rng rng(Mix64(event_key_ + event.index));
  event.device = static_cast<uint32_t>(rng.Uniform(options_.devices));
  event.duplicate = rng.NextDouble() < options_.dup_rate;
  event.late = rng.NextDouble() < options_.late_fraction;
  const auto jitter_ms = static_cast<int64_t>(
      rng.Uniform(static_cast<uint64_t>(std::max<int64_t>(options_.jitter.count(), 0)) + 1));
  Device& device = devices_[event.device];
  Step(device, rng);

  event.msg_id = fmt::format("{:016x}", Mix64(id_key_ + event.index));
  const int64_t now_ms = clock_.NowUnixMs();
  event.event_time_ms = event.late ? now_ms - options_.late_by.count() : now_ms - jitter_ms;
  // The topic draws from a stream of its own: adding templates changes nothing else.
  const TopicTemplate& topic =
      topics_.size() == 1
          ? topics_.Pick(0)
          : topics_.Pick(Rng(Mix64(topic_key_ + event.index)).Uniform(topics_.total_weight()));
  event.topic = ExpandTopic(topic.pattern, DeviceId(event.device));
  if (device.new_firmware) {  // a stream of its own: the sound devices' events stay the same
    event.broken = static_cast<Breakage>(1 + Rng(Mix64(broken_key_ + event.index)).Uniform(3));
  }
  event.payload = BuildPayload(event, device, rng);
  return event;
}

void EventGenerator::AppendTimestamp(std::string* out, int64_t unix_ms) const {
  switch (options_.time_format) {
    case TimeFormat::kUnixMs:
      fmt::format_to(std::back_inserter(*out), "{}", unix_ms);
      return;
    case TimeFormat::kUnixS:
      // Floor, not truncation, so that pre-1970 times still round down.
      fmt::format_to(std::back_inserter(*out), "{}",
                     unix_ms / 1000 - ((unix_ms % 1000 != 0) && unix_ms < 0));
      return;
    case TimeFormat::kRfc3339:
      AppendJsonString(out, FormatRfc3339Ms(unix_ms));
      return;
  }
}

std::string EventGenerator::BuildPayload(const SimEvent& event, const Device& device,
                                         Rng& rng) const {
  std::string out;
  out.reserve(options_.pii ? 384 : 160);
  out += "{\"device_id\":";
  AppendJsonString(&out, DeviceId(event.device));
  out += ",\"msg_id\":";
  AppendJsonString(&out, event.msg_id);
  out += ",\"ts\":";
  AppendTimestamp(&out, event.event_time_ms);
  // Readings are kept as scaled integers so the decimals printed are exact. New firmware
  // quotes the numbers, forgets the battery or reports humidity out of range.
  const char* quote = event.broken == Breakage::kNumbersAsStrings ? "\"" : "";
  const int32_t humidity =
      device.humidity_deci + (event.broken == Breakage::kOutOfRange ? 10'000 : 0);
  fmt::format_to(std::back_inserter(out), R"(,"seq":{},"temp":{}{}.{:02}{},"humidity":{}{}.{}{})",
                 device.seq, quote, device.temp_centi / 100, device.temp_centi % 100, quote, quote,
                 humidity / 10, humidity % 10, quote);
  if (event.broken != Breakage::kMissingRequired) {
    fmt::format_to(std::back_inserter(out), R"(,"battery":{})", device.battery);
  }
  if (options_.pii) {
    out += R"(,"user":{"email":)";
    AppendJsonString(&out, MakeEmail(device.owner, rng));
    out += ",\"phone\":";
    AppendJsonString(&out, MakePhone(device.owner, rng));
    out += "},\"ip\":";
    AppendJsonString(&out, device.owner.ip);
    out += ",\"note\":";
    AppendJsonString(&out, MakeNote(device.owner, rng));
  }
  out += '}';
  return out;
}

}  // namespace tidegate::sim
