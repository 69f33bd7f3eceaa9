// SPDX-License-Identifier: Apache-2.0
// The agent's side of systemd's notify protocol (issue 13), end to end with real parts: the
// tidegate binary started with NOTIFY_SOCKET at a datagram socket the test binds (standing in
// for systemd) and WATCHDOG_USEC=2 s, a real mosquitto broker and the real collector over TLS.
// READY=1 comes once, only after the broker acknowledged the subscription; WATCHDOG=1 every
// second; STATUS= with backlog and uplink state; STOPPING=1 at SIGTERM, then a clean exit.
// A thread frozen by the TIDEGATE_TEST_STALL hook stops the pings; a receiver that is down
// (the uplink backing off for longer than the stall threshold) does not.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/net.h"
#include "tests/support/notify_listener.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

constexpr auto kWatchdog = seconds(2);  // WATCHDOG_USEC: pings every second
// agent/watchdog_check.h: max(WATCHDOG_USEC, 10 s + commit_interval 50 ms).
constexpr auto kStallThreshold = milliseconds(10'050);
// Scheduling slack on a loaded 2-core machine (and under ASan) for the gap between pings.
constexpr auto kPingSlack = seconds(1);

bool Contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// Binds the notify socket in the stack's directory and sets the agent's environment.
std::unique_ptr<NotifyListener> Listen(E2eStack& stack) {
  Result<std::unique_ptr<NotifyListener>> listener =
      NotifyListener::Bind(stack.dir().File("notify.sock"));
  RequireOk(listener.status());
  auto& env = stack.mutable_options().agent_env;
  env.emplace_back("NOTIFY_SOCKET", (*listener)->path());
  env.emplace_back("WATCHDOG_USEC", std::to_string(std::chrono::microseconds(kWatchdog).count()));
  return std::move(listener).value();
}

std::string LastStatus(const NotifyListener& listener) {
  std::vector<NotifyMessage> statuses = listener.With("STATUS");
  return statuses.empty() ? std::string() : *statuses.back().Value("STATUS");
}

// The longest gap between consecutive pings arriving at or after `from`.
milliseconds LongestPingGap(const NotifyListener& listener, Steady::time_point from) {
  milliseconds longest{0};
  std::optional<Steady::time_point> previous;
  for (const NotifyMessage& ping : listener.With("WATCHDOG")) {
    if (ping.at < from) continue;
    if (previous) {
      longest = std::max(longest, std::chrono::duration_cast<milliseconds>(ping.at - *previous));
    }
    previous = ping.at;
  }
  return longest;
}

size_t PingsSince(const NotifyListener& listener, Steady::time_point from) {
  size_t count = 0;
  for (const NotifyMessage& ping : listener.With("WATCHDOG")) count += ping.at >= from ? 1 : 0;
  return count;
}

void WaitReady(E2eStack& stack, const NotifyListener& listener) {
  if (!WaitUntil([&] { return !listener.With("READY").empty(); }, seconds(60))) {
    FAIL("no READY=1\n" << stack.Diagnostics());
  }
}

void PublishAndLand(E2eStack& stack, int count) {
  RequireOk(stack.StartSim({"--count", std::to_string(count), "--rate", "200", "--devices", "3",
                            "--seed", std::to_string(TestSeed())}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  if (!stack.WaitForLanded(static_cast<size_t>(count), seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
}

TEST_CASE(
    "READY=1 comes once, after the broker acknowledged the subscription, then regular "
    "WATCHDOG=1, STATUS= and STOPPING=1 at SIGTERM",
    "[integration][issue-13]") {
  E2eStack stack("sd-notify-ready");
  RequireOk(stack.Prepare(), &stack);
  const int port = FreeTcpPort();
  stack.mutable_options().mqtt_port = port;
  std::unique_ptr<NotifyListener> listener = Listen(stack);
  const auto launched = Steady::now();
  RequireOk(stack.LaunchAgent(), &stack);

  // No broker: the agent says what it waits for, keeps its start timeout from running out
  // and pings the watchdog (it is alive), but is not ready.
  const std::string waiting =
      "waiting for the MQTT broker at 127.0.0.1:" + std::to_string(port) + " to acknowledge";
  const bool waits = WaitUntil(
      [&] {
        return listener->With("WATCHDOG").size() >= 3 &&
               !listener->With("EXTEND_TIMEOUT_USEC").empty() &&
               Contains(LastStatus(*listener), waiting);
      },
      seconds(60));
  if (!waits) FAIL("no waiting status and pings\n" << stack.Diagnostics());
  CHECK(listener->With("READY").empty());
  INFO(LastStatus(*listener));
  CHECK(Contains(LastStatus(*listener), "starting; "));

  const auto broker_up = Steady::now();
  RequireOk(stack.StartBroker({.port = port}), &stack);
  RequireOk(stack.WaitAgentConnected(seconds(60)), &stack);
  WaitReady(stack, *listener);
  const std::vector<NotifyMessage> ready = listener->With("READY");
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].at >= broker_up);
  CHECK(Contains(*ready[0].Value("STATUS"), "ready; mqtt subscribed; backlog "));
  // The agent's log shows the SUBACK before READY.
  const std::string log = ReadFile(stack.AgentLogPath());
  const size_t suback = log.find("mqtt: the broker acknowledged 1 subscription(s)");
  const size_t ready_line = log.find("systemd: READY=1");
  REQUIRE(suback != std::string::npos);
  REQUIRE(ready_line != std::string::npos);
  CHECK(suback < ready_line);

  PublishAndLand(stack, 50);
  // A periodic STATUS (every 5 s) after READY, and pings all along.
  const bool reported = WaitUntil(
      [&] {
        size_t after_ready = 0;
        for (const NotifyMessage& m : listener->With("STATUS")) after_ready += m.at > ready[0].at;
        return after_ready >= 2 && PingsSince(*listener, ready[0].at) >= 5;
      },
      seconds(60));
  if (!reported) FAIL("no periodic STATUS or pings after READY\n" << stack.Diagnostics());
  const std::string status = LastStatus(*listener);
  INFO(status);
  CHECK(Contains(status, "ready; mqtt subscribed; backlog "));
  CHECK(Contains(status, " records, "));
  CHECK((Contains(status, "uplink idle") || Contains(status, "uplink delivering")));
  for (const NotifyMessage& m : listener->With("STATUS")) {
    CHECK_FALSE(Contains(m.text, "/v1/batches"));  // never the uplink URL
    CHECK_FALSE(Contains(m.text, "msg_id"));       // never a payload
  }

  RequireOk(stack.StopAgent(), &stack);  // exit 0 within 15 s
  const std::vector<NotifyMessage> stopping = listener->With("STOPPING");
  REQUIRE(stopping.size() == 1);
  CHECK(stopping[0].at > ready[0].at);
  const milliseconds gap = LongestPingGap(*listener, launched);
  std::fprintf(stderr, "sd-notify: %zu pings, longest gap %lld ms\n",
               listener->With("WATCHDOG").size(), static_cast<long long>(gap.count()));
  CHECK(gap < kWatchdog + kPingSlack);
}

TEST_CASE("a stalled ingest, writer or uplink thread stops the watchdog pings",
          "[integration][issue-13]") {
  std::string thread;
  std::string named;  // as the agent's verdict names it
  SECTION("writer") {
    thread = "writer";
    named = "buffer writer stalled for ";
  }
  SECTION("uplink") {
    thread = "uplink";
    named = "uplink stalled for ";
  }
  SECTION("ingest") {
    thread = "ingest";
    named = "ingest stalled for ";
  }
  E2eStack stack("sd-notify-stall-" + thread);
  std::unique_ptr<NotifyListener> listener = Listen(stack);
  stack.mutable_options().agent_env.emplace_back("TIDEGATE_TEST_STALL", thread + ":3");
  RequireOk(stack.Start(), &stack);
  WaitReady(stack, *listener);

  // Pings stop within the stall threshold of the stall (3 s after start) and stay stopped.
  const bool stopped = WaitUntil(
      [&] {
        const std::vector<NotifyMessage> pings = listener->With("WATCHDOG");
        return !pings.empty() && Steady::now() - pings.back().at > 2 * kWatchdog &&
               Contains(ReadFile(stack.AgentLogPath()), "watchdog: withholding WATCHDOG=1");
      },
      seconds(90), milliseconds(200));
  if (!stopped) FAIL("the pings went on\n" << stack.Diagnostics());
  const std::string log = ReadFile(stack.AgentLogPath());
  CHECK(Contains(log, "TEST HOOK TIDEGATE_TEST_STALL armed: the " + thread + " thread"));
  CHECK(Contains(log, named));
  CHECK(listener->With("WATCHDOG").size() >= 2);  // it pinged while healthy
  const bool reported = WaitUntil(
      [&] { return Contains(LastStatus(*listener), "STALLED, watchdog pings withheld: "); },
      seconds(15));
  INFO(LastStatus(*listener));
  CHECK(reported);
  CHECK(Contains(LastStatus(*listener), named));
  stack.KillAgent();  // a frozen thread cannot shut down cleanly; systemd would kill it too
}

TEST_CASE("with the receiver down the uplink backs off and the watchdog pings go on",
          "[integration][issue-13]") {
  StackOptions options;
  // The first retry waits 12.5 to 25 s, longer than the stall threshold: the uplink's waits
  // must beat its heartbeat.
  options.uplink_batch_retry_yaml = "  batch: {linger: 50ms}\n  retry: {initial: 25s, max: 30s}\n";
  E2eStack stack("sd-notify-receiver-down", options);
  std::unique_ptr<NotifyListener> listener = Listen(stack);
  RequireOk(stack.Start(), &stack);
  WaitReady(stack, *listener);
  RequireOk(stack.StopCollector(), &stack);
  const auto receiver_down = Steady::now();
  RequireOk(stack.StartSim({"--count", "20", "--rate", "200", "--devices", "2", "--seed",
                            std::to_string(TestSeed())}),
            &stack);
  REQUIRE(stack.WaitSim(seconds(60)).ok());

  // Wait until STATUS reports the uplink failing for longer than the stall threshold.
  const auto failing_long = [&] {
    const std::string status = LastStatus(*listener);
    const size_t at = status.find("uplink failing for ");
    if (at == std::string::npos) return false;
    const long failing_s = std::stol(status.substr(at + std::string("uplink failing for ").size()));
    return seconds(failing_s) > kStallThreshold + seconds(2);
  };
  if (!WaitUntil(failing_long, seconds(120), milliseconds(200))) {
    FAIL("the uplink never reported failing long enough: " << LastStatus(*listener) << "\n"
                                                           << stack.Diagnostics());
  }
  CHECK(stack.Metric("tidegate_batches_retried_total").value_or(0) >= 1);
  const milliseconds gap = LongestPingGap(*listener, receiver_down);
  std::fprintf(stderr, "sd-notify receiver down: %zu pings, longest gap %lld ms\n",
               PingsSince(*listener, receiver_down), static_cast<long long>(gap.count()));
  CHECK(gap < kWatchdog + kPingSlack);
  CHECK(PingsSince(*listener, receiver_down) >= 8);
  CHECK_FALSE(Contains(ReadFile(stack.AgentLogPath()), "watchdog: withholding"));

  RequireOk(stack.StopAgent(), &stack);  // the backoff is interrupted: a clean exit
  CHECK(listener->With("STOPPING").size() == 1);
}

}  // namespace
}  // namespace tidegate::testing
