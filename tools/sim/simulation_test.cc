// SPDX-License-Identifier: Apache-2.0
#include "tools/sim/simulation.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace tidegate::sim {
namespace {

using std::chrono::milliseconds;

// Time moves 1 ms each time an event reads the wall clock, so a run without pacing still
// passes through the offline window. Monotonic time is the same time on another scale; with
// tick_on_monotonic it also moves on each reading, so a paced run need not wait for events
// that wait for time.
class SteppingClock final : public Clock {
 public:
  explicit SteppingClock(bool tick_on_monotonic = false) : tick_on_monotonic_(tick_on_monotonic) {}
  int64_t NowUnixMs() override { return kStartMs + ++elapsed_ms_; }
  std::chrono::steady_clock::time_point Monotonic() override {
    if (tick_on_monotonic_) ++elapsed_ms_;
    return std::chrono::steady_clock::time_point(milliseconds(elapsed_ms_));
  }
  static constexpr int64_t kStartMs = 1'764'000'000'000;

 private:
  const bool tick_on_monotonic_;
  int64_t elapsed_ms_ = 0;
};

struct Message {
  std::string topic;
  std::string payload;
  bool duplicate;
};

class RecordingPublisher final : public Publisher {
 public:
  Status Publish(const std::string& topic, const std::string& payload, bool duplicate,
                 std::string_view /*broken*/) override {
    messages.push_back({topic, payload, duplicate});
    if (on_publish) on_publish();
    return Status::Ok();
  }
  uint64_t Finish(milliseconds) override { return 0; }
  [[nodiscard]] PublisherCounters counters() const override {
    return {.submitted = messages.size(), .confirmed = messages.size()};
  }
  std::vector<Message> messages;
  std::function<void()> on_publish;
};

int64_t Ts(const std::string& payload) {
  const size_t at = payload.find("\"ts\":") + 5;
  return std::stoll(payload.substr(at, payload.find(',', at) - at));
}

TEST_CASE("the event count ends the run and each duplicate follows its original", "[sim]") {
  SteppingClock clock;
  GeneratorOptions generator_options;
  generator_options.dup_rate = 0.2;
  EventGenerator generator(generator_options, 1, clock);
  RecordingPublisher publisher;
  SimulationOptions options;
  options.rate = 0;
  options.count = 1000;
  Simulation simulation(options, generator, publisher, clock);
  REQUIRE(simulation.Run().ok());
  CHECK(simulation.stats().events == 1000);
  CHECK(publisher.messages.size() == 1000 + simulation.stats().duplicates);
  CHECK(simulation.stats().duplicates > 100);
  for (size_t i = 0; i < publisher.messages.size(); ++i) {
    if (!publisher.messages[i].duplicate) continue;
    REQUIRE(i > 0);
    CHECK_FALSE(publisher.messages[i - 1].duplicate);
    CHECK(publisher.messages[i].payload == publisher.messages[i - 1].payload);
  }
}

TEST_CASE("the offline device's events are published together with their original times", "[sim]") {
  SteppingClock clock;
  GeneratorOptions generator_options;
  generator_options.devices = 4;
  EventGenerator generator(generator_options, 2, clock);
  RecordingPublisher publisher;
  SimulationOptions options;
  options.rate = 0;
  options.count = 6000;
  options.offline_device = 2;
  options.offline_at = milliseconds(1000);
  options.offline_for = milliseconds(2000);
  Simulation simulation(options, generator, publisher, clock);
  REQUIRE(simulation.Run().ok());
  CHECK(simulation.stats().events == 6000);
  CHECK(simulation.stats().held > 300);

  // The held events form one block, older than the message published just before it.
  const std::string offline_topic = "devices/dev-0003/telemetry";
  size_t block_start = 0;
  for (size_t i = 1; i < publisher.messages.size(); ++i) {
    if (Ts(publisher.messages[i].payload) < Ts(publisher.messages[i - 1].payload) - 500) {
      block_start = i;
      break;
    }
  }
  REQUIRE(block_start > 0);
  for (size_t i = block_start; i < block_start + simulation.stats().held; ++i) {
    CHECK(publisher.messages[i].topic == offline_topic);
  }
  const int64_t first_held_ts = Ts(publisher.messages[block_start].payload);
  CHECK(first_held_ts >= SteppingClock::kStartMs + 1000);
  CHECK(first_held_ts < SteppingClock::kStartMs + 1600);
}

TEST_CASE("held events are released when the run ends while the device is offline", "[sim]") {
  SteppingClock clock;
  EventGenerator generator(GeneratorOptions{}, 3, clock);
  RecordingPublisher publisher;
  SimulationOptions options;
  options.rate = 0;
  options.count = 3000;
  options.offline_device = 0;
  options.offline_at = milliseconds(1000);
  options.offline_for = std::chrono::hours(1);
  Simulation simulation(options, generator, publisher, clock);
  REQUIRE(simulation.Run().ok());
  CHECK(simulation.stats().held > 100);
  CHECK(publisher.messages.size() == 3000);
}

TEST_CASE("a paced run with --duration publishes rate times duration events", "[sim]") {
  SteppingClock clock(/*tick_on_monotonic=*/true);
  EventGenerator generator(GeneratorOptions{}, 4, clock);
  RecordingPublisher publisher;
  SimulationOptions options;
  options.rate = 1000;
  options.duration = milliseconds(300);
  Simulation simulation(options, generator, publisher, clock);
  REQUIRE(simulation.Run().ok());
  CHECK(simulation.stats().events == 300);
}

TEST_CASE("the stop flag ends an unbounded run", "[sim]") {
  SteppingClock clock;
  EventGenerator generator(GeneratorOptions{}, 5, clock);
  RecordingPublisher publisher;
  std::atomic<bool> stop{false};
  publisher.on_publish = [&] {
    if (publisher.messages.size() == 100) stop = true;
  };
  SimulationOptions options;
  options.rate = 0;
  options.stop = &stop;
  Simulation simulation(options, generator, publisher, clock);
  REQUIRE(simulation.Run().ok());
  CHECK(simulation.stats().events >= 100);
  CHECK(simulation.stats().events <= 100 + 512);
}

}  // namespace
}  // namespace tidegate::sim
