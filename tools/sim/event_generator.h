// SPDX-License-Identifier: Apache-2.0
// The simulator's event source: turns a seed into the sequence of device events that
// tidegate-sim publishes (device, readings, message id, duplicate and late decisions, PII).
// Every random choice depends only on the seed and the event's index, never on timing; only
// the event time comes from the Clock. Not thread-safe: one generator per publishing thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "tools/sim/fake_identity.h"
#include "tools/sim/topic_template.h"

namespace tidegate::sim {

// How the "ts" field is written; the agent's events.event_time.format has the same names.
enum class TimeFormat { kUnixMs, kUnixS, kRfc3339 };

// "unix_ms", "unix_s" or "rfc3339"; kInvalidArgument otherwise.
Result<TimeFormat> ParseTimeFormat(std::string_view name);

struct GeneratorOptions {
  uint32_t devices = 10;                 // ids dev-0001..dev-NNNN; must be >= 1
  std::string topic_prefix = "devices";  // topic is <prefix>/<device_id>/telemetry...
  // ...unless templates are given: each event then picks one in proportion to its weight.
  std::vector<TopicTemplate> topics = {};
  std::chrono::milliseconds jitter{0};  // event time = now - uniform[0, jitter]
  double dup_rate = 0.0;                // [0, 1]: share of events to publish twice
  double late_fraction = 0.0;           // [0, 1]: share of events stamped now - late_by
  std::chrono::milliseconds late_by{std::chrono::minutes(5)};
  bool pii = true;  // adds "user", "ip" and "note"
  TimeFormat time_format = TimeFormat::kUnixMs;
  // [0, 1]: share of devices (round(share x devices), chosen by the seed) running a "new
  // firmware" whose every event breaks the documented payload in one of three ways.
  double broken_firmware = 0.0;
};

// How a new-firmware event breaks the payload (PAYLOAD in --help): temp and humidity as
// strings, battery left out, or humidity out of range (+1000). Names go to the --log line.
enum class Breakage { kNone = 0, kNumbersAsStrings, kMissingRequired, kOutOfRange };
std::string_view BreakageName(Breakage breakage);

// One generated event. The payload is a complete JSON object; a duplicate must be
// published with exactly these bytes.
struct SimEvent {
  uint64_t index = 0;   // 0-based position in the generated sequence
  uint32_t device = 0;  // 0-based device index; the id is DeviceId(device)
  std::string topic;
  std::string payload;
  std::string msg_id;  // 16 lowercase hex digits, unique within a run
  int64_t event_time_ms = 0;
  bool late = false;       // stamped late_by in the past
  bool duplicate = false;  // to be published a second time, unchanged
  Breakage broken = Breakage::kNone;
};

// "dev-0001" for index 0; the width grows past 9999 devices.
std::string DeviceId(uint32_t index);

class EventGenerator {
 public:
  // REQUIRES: options.devices >= 1, rates in [0, 1]. clock must outlive the generator.
  EventGenerator(GeneratorOptions options, uint64_t seed, Clock& clock);

  // Generates the next event, reading the clock once for its event time.
  SimEvent Next();

  uint64_t generated() const { return next_index_; }

 private:
  // Per-device state that evolves event by event (readings walk rather than jump).
  struct Device {
    int64_t seq = 0;
    int32_t temp_centi = 0;     // hundredths of a degree C, kept in [1800, 3000]
    int32_t humidity_deci = 0;  // tenths of a percent, kept in [150, 950]
    int32_t battery = 100;      // percent
    Identity owner;
    bool new_firmware = false;  // --broken-firmware
  };

  static void Step(Device& device, Rng& rng);
  void AppendTimestamp(std::string* out, int64_t unix_ms) const;
  std::string BuildPayload(const SimEvent& event, const Device& device, Rng& rng) const;
  void PickNewFirmware(uint64_t seed);

  GeneratorOptions options_;
  uint64_t event_key_;   // derives each event's own Rng from its index
  uint64_t id_key_;      // derives msg_id from the index, bijectively
  uint64_t topic_key_;   // derives the topic choice from the index (several templates only)
  uint64_t broken_key_;  // derives the breakage of a new-firmware event from the index
  TopicChooser topics_;
  Clock& clock_;
  std::vector<Device> devices_;
  uint64_t next_index_ = 0;
};

}  // namespace tidegate::sim
