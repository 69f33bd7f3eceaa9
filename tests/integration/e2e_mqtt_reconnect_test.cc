// SPDX-License-Identifier: Apache-2.0
// The MQTT source keeps trying (issues 10 and 11), end to end with the real agent, a real
// mosquitto and the real collector: the broker down when the agent starts, the broker
// restarted under a running agent, a broker certificate the agent's CA did not sign, and
// plain MQTT against a TLS listener. Each case checks what an operator sees (the log line,
// tidegate_mqtt_connected, tidegate_mqtt_connect_failures_total, /readyz) and that every
// event published once the agent is back lands exactly once. Prints the measured reconnect
// times on stderr.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

// The agent's longest wait between attempts is 30 s; the slack covers a loaded machine.
constexpr auto kReconnectBound = seconds(30) + seconds(10);

double Seconds(Steady::duration d) {
  return static_cast<double>(std::chrono::duration_cast<milliseconds>(d).count()) / 1e3;
}

bool Contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

HttpResponse Healthz(E2eStack& stack) { return stack.Probe("/healthz"); }
HttpResponse Readyz(E2eStack& stack) { return stack.Probe("/readyz"); }

// Waits until the agent has counted at least `failures` failed connection attempts.
void WaitForFailures(E2eStack& stack, double failures) {
  bool seen =
      WaitUntil([&] { return stack.Metric("tidegate_mqtt_connect_failures_total") >= failures; },
                kReconnectBound, milliseconds(100));
  if (!seen) FAIL("fewer than " << failures << " failed attempts counted\n" << stack.Diagnostics());
}

// Checks the state while the broker cannot be used: not connected, /readyz 503 naming
// `reason` (the agent is alive all the same: /healthz 200), the log naming it too.
void CheckNotConnected(E2eStack& stack, std::string_view reason) {
  INFO(stack.Diagnostics());
  CHECK(stack.Metric("tidegate_mqtt_connected") == 0.0);
  HttpResponse ready = Readyz(stack);
  CHECK(ready.status == 503);
  CHECK(Contains(ready.body, "mqtt source not connected: "));
  CHECK(Contains(ready.body, reason));
  CHECK(Healthz(stack).status == 200);
  CHECK(Contains(ReadFile(stack.AgentLogPath()), reason));
  CHECK(stack.AgentRunning());
}

// Publishes `count` events with `seed` (distinct seeds give distinct msg ids) and appends
// what the broker acknowledged to *published.
void Publish(E2eStack& stack, int count, uint64_t seed, std::vector<PublishedEvent>* published) {
  RequireOk(stack.StartSim({"--count", std::to_string(count), "--rate", "500", "--devices", "5",
                            "--seed", std::to_string(seed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> log = ReadPublishLog(stack.PublishLogPath());
  RequireOk(log.status());
  REQUIRE(log->size() == static_cast<size_t>(count));
  published->insert(published->end(), log->begin(), log->end());
}

void CheckAllLanded(E2eStack& stack, const std::vector<PublishedEvent>& published) {
  if (!stack.WaitForLanded(published.size(), seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  DeliveryReport report = CompareByMsgId(published, *landed);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
}

// Waits for the agent to connect (connected, subscribed, /readyz 200) and returns how long
// that took from `since`.
double WaitConnected(E2eStack& stack, Steady::time_point since) {
  RequireOk(stack.WaitAgentConnected(kReconnectBound), &stack);
  double took = Seconds(Steady::now() - since);
  CHECK(stack.Metric("tidegate_mqtt_connected") == 1.0);
  CHECK(Readyz(stack).status == 200);
  return took;
}

TEST_CASE("an agent started before its broker connects once the broker is up",
          "[integration][issue-10]") {
  E2eStack stack("mqtt-broker-late");
  RequireOk(stack.Prepare(), &stack);
  const int port = FreeTcpPort();
  stack.mutable_options().mqtt_port = port;
  RequireOk(stack.LaunchAgent(), &stack);

  // Three failures: the agent is past its first attempts and waiting 4 s for the next.
  WaitForFailures(stack, 3);
  CheckNotConnected(stack, "Connection refused");
  CHECK(Contains(ReadFile(stack.AgentLogPath()),
                 "cannot connect to 127.0.0.1:" + std::to_string(port) + " (attempt 1)"));

  const auto broker_up = Steady::now();
  RequireOk(stack.StartBroker({.port = port}), &stack);
  const double took = WaitConnected(stack, broker_up);
  std::fprintf(stderr, "mqtt-broker-late: connected %.2f s after the broker came up\n", took);
  CHECK(took < Seconds(kReconnectBound));
  CHECK(Contains(ReadFile(stack.AgentLogPath()), "failed attempts)"));

  std::vector<PublishedEvent> published;
  Publish(stack, 500, TestSeed(), &published);
  CheckAllLanded(stack, published);
  RequireOk(stack.StopAgent(), &stack);
}

TEST_CASE("events published after a broker restart land", "[integration][issue-10]") {
  E2eStack stack("mqtt-broker-restart");
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  std::vector<PublishedEvent> published;
  Publish(stack, 300, seed, &published);
  CheckAllLanded(stack, published);

  SECTION("stopped and started") { RequireOk(stack.broker().Stop(), &stack); }
  SECTION("killed and started") { stack.broker().Kill(); }
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_mqtt_connected") == 0.0; }, seconds(10)));
  CHECK(Readyz(stack).status == 503);
  CHECK(Healthz(stack).status == 200);
  CHECK(Contains(ReadFile(stack.AgentLogPath()), "lost"));

  stack.ExpectReconnect();
  const auto broker_up = Steady::now();
  RequireOk(stack.broker().Restart(), &stack);
  const double took = WaitConnected(stack, broker_up);
  std::fprintf(stderr, "mqtt-broker-restart: reconnected %.2f s after the broker came back\n",
               took);
  CHECK(stack.Metric("tidegate_mqtt_connects_total") == 2.0);

  Publish(stack, 300, seed + 1, &published);
  CheckAllLanded(stack, published);
  RequireOk(stack.StopAgent(), &stack);
}

TEST_CASE("a broker certificate from another CA is retried, named, and fixed without a restart",
          "[integration][issue-11]") {
  E2eStack stack("mqtt-wrong-ca");
  RequireOk(stack.Prepare(), &stack);
  const TestCerts& certs = stack.certs();
  RequireOk(stack.StartBroker({.tls_cert_file = certs.untrusted_server_cert,
                               .tls_key_file = certs.untrusted_server_key}),
            &stack);
  const int plain_port = stack.broker().port();
  const int tls_port = stack.broker().tls_port();
  stack.mutable_options().mqtt_port = tls_port;
  stack.mutable_options().mqtt_extra_yaml = "    tls: {ca_file: " + certs.ca_cert + "}\n";
  RequireOk(stack.LaunchAgent(), &stack);

  WaitForFailures(stack, 2);
  CheckNotConnected(stack, "certificate verify failed");
  CHECK(Contains(ReadFile(stack.AgentLogPath()), "source.mqtt.tls.ca_file"));
  // The broker saw the handshakes fail ("tlsv1 alert unknown ca"): the agent really tried
  // again, with a new handshake each time.
  auto refused_handshakes = [&] {
    size_t count = 0;
    for (const std::string& line : ReadLines(stack.broker().LogPath())) {
      count += Contains(line, "alert unknown ca") ? 1 : 0;
    }
    return count;
  };
  CHECK(WaitUntil([&] { return refused_handshakes() >= 2; }, seconds(5)));

  RequireOk(stack.broker().Stop(), &stack);
  const auto broker_fixed = Steady::now();
  RequireOk(stack.StartBroker({.port = plain_port,
                               .tls_cert_file = certs.server_cert,
                               .tls_key_file = certs.server_key,
                               .tls_port = tls_port}),
            &stack);
  const double took = WaitConnected(stack, broker_fixed);
  std::fprintf(stderr, "mqtt-wrong-ca: connected %.2f s after the broker got a trusted cert\n",
               took);

  std::vector<PublishedEvent> published;
  Publish(stack, 200, TestSeed(), &published);
  CheckAllLanded(stack, published);
  RequireOk(stack.StopAgent(), &stack);
}

TEST_CASE("plain MQTT against a TLS listener is retried with a hint to set source.mqtt.tls",
          "[integration][issue-11]") {
  E2eStack stack("mqtt-plain-to-tls");
  RequireOk(stack.Prepare(), &stack);
  RequireOk(stack.StartBroker({.tls_cert_file = stack.certs().server_cert,
                               .tls_key_file = stack.certs().server_key}),
            &stack);
  stack.mutable_options().mqtt_port = stack.broker().tls_port();
  RequireOk(stack.LaunchAgent(), &stack);

  WaitForFailures(stack, 2);
  CheckNotConnected(stack, "is source.mqtt.tls set");
  // Retrying does not delay shutdown: SIGTERM ends the backoff wait at once.
  const auto stop_started = Steady::now();
  RequireOk(stack.StopAgent(), &stack);
  const double stop_took = Seconds(Steady::now() - stop_started);
  std::fprintf(stderr, "mqtt-plain-to-tls: stopped %.2f s after SIGTERM while retrying\n",
               stop_took);
  CHECK(stop_took < 5.0);
}

TEST_CASE("a broker refusing the CONNECT is retried and its CONNACK reason named",
          "[integration][issue-11]") {
  E2eStack stack("mqtt-connack-refused");
  RequireOk(stack.Prepare(), &stack);
  // The later line wins: anonymous clients (the agent has no credentials) are refused.
  RequireOk(stack.StartBroker({.extra_config = "allow_anonymous false"}), &stack);
  RequireOk(stack.LaunchAgent(), &stack);
  WaitForFailures(stack, 2);
  CheckNotConnected(stack, "refused by the broker: Connection Refused: not authorised");
  RequireOk(stack.StopAgent(), &stack);
}

}  // namespace
}  // namespace tidegate::testing
