// SPDX-License-Identifier: Apache-2.0
// tidegate-bench-null-sub: the baseline of bench/run.sh. Subscribes to a topic filter, counts
// messages and does nothing else; exits after --count messages (0) or at --timeout (3).
// Prints "ready" on stdout once the broker acknowledged the subscription, then one JSON line
// with the count, the first and last arrival (Unix ms), the delivery rate and its own CPU per
// message (getrusage, from the first message to the last). Single-threaded: the network loop
// runs on the main thread.
#include <fmt/format.h>
#include <mosquitto.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "bench/process_cpu.h"
#include "common/clock.h"

namespace tidegate::bench {
namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 1883;
  int qos = 1;
  std::string topic = "devices/#";
  uint64_t count = 100000;
  int timeout_s = 120;
  std::string client_id = "tidegate-bench-null-sub";
};

struct State {
  uint64_t received = 0;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  int64_t first_cpu_us = 0;
  int64_t last_cpu_us = 0;
  bool subscribed = false;
  int connack_rc = -1;
};

void OnConnect(mosquitto*, void* self, int rc) { static_cast<State*>(self)->connack_rc = rc; }
void OnSubscribe(mosquitto*, void* self, int, int, const int*) {
  static_cast<State*>(self)->subscribed = true;
}
void OnMessage(mosquitto*, void* self, const mosquitto_message*) {
  auto* state = static_cast<State*>(self);
  if (state->received++ == 0) {
    state->first_ms = RealClock().NowUnixMs();
    state->first_cpu_us = tidegate::bench::ProcessCpuMicros();
  }
  state->last_ms = RealClock().NowUnixMs();
}

struct MosquittoDeleter {
  void operator()(mosquitto* mosq) const { mosquitto_destroy(mosq); }
};

// Runs the network loop until done() or the deadline; false at the deadline or on an error.
template <typename Done>
bool LoopUntil(mosquitto* mosq, std::chrono::steady_clock::time_point deadline, Done done) {
  while (!done()) {
    if (RealClock().Monotonic() >= deadline) return false;
    const int rc = mosquitto_loop(mosq, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::cerr << "null-sub: connection lost: " << mosquitto_strerror(rc) << "\n";
      return false;
    }
  }
  return true;
}

int Run(const Options& options) {
  State state;
  std::unique_ptr<mosquitto, MosquittoDeleter> mosq(
      mosquitto_new(options.client_id.c_str(), true, &state));
  mosquitto_connect_callback_set(mosq.get(), OnConnect);
  mosquitto_subscribe_callback_set(mosq.get(), OnSubscribe);
  mosquitto_message_callback_set(mosq.get(), OnMessage);
  mosquitto_int_option(mosq.get(), MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
  const auto deadline = RealClock().Monotonic() + std::chrono::seconds(options.timeout_s);
  int rc = mosquitto_connect(mosq.get(), options.host.c_str(), options.port, 60);
  if (rc != MOSQ_ERR_SUCCESS ||
      !LoopUntil(mosq.get(), deadline, [&] { return state.connack_rc >= 0; }) ||
      state.connack_rc != 0 ||
      mosquitto_subscribe(mosq.get(), nullptr, options.topic.c_str(), options.qos) !=
          MOSQ_ERR_SUCCESS ||
      !LoopUntil(mosq.get(), deadline, [&] { return state.subscribed; })) {
    std::cerr << fmt::format("null-sub: could not subscribe at {}:{}\n", options.host,
                             options.port);
    return 1;
  }
  std::cout << "ready" << std::endl;
  const bool complete =
      LoopUntil(mosq.get(), deadline, [&] { return state.received >= options.count; });
  state.last_cpu_us = tidegate::bench::ProcessCpuMicros();
  const double secs =
      static_cast<double>(std::max<int64_t>(1, state.last_ms - state.first_ms)) / 1e3;
  const double cpu_per_msg = state.received > 1
                                 ? static_cast<double>(state.last_cpu_us - state.first_cpu_us) /
                                       static_cast<double>(state.received - 1)
                                 : 0.0;
  std::cout << fmt::format(
                   R"({{"received":{},"expected":{},"first_ms":{},"last_ms":{},"rate":{:.0f},)"
                   R"("cpu_us_per_msg":{:.3f},"timed_out":{}}})",
                   state.received, options.count, state.first_ms, state.last_ms,
                   static_cast<double>(state.received) / secs, cpu_per_msg, !complete)
            << std::endl;
  if (!complete) {
    std::cerr << fmt::format("null-sub: timed out after {} s with {} of {} messages\n",
                             options.timeout_s, state.received, options.count);
  }
  mosquitto_disconnect(mosq.get());
  return complete ? 0 : 3;
}

}  // namespace
}  // namespace tidegate::bench

namespace {

int Main(int argc, char** argv) {
  tidegate::bench::Options o;
  CLI::App app{"Counts MQTT messages and exits after --count: the baseline of bench/run.sh."};
  app.add_option("--host", o.host, "Broker host")->capture_default_str();
  app.add_option("--port", o.port, "Broker port")->capture_default_str();
  app.add_option("--qos", o.qos, "Subscription QoS")->check(CLI::Range(0, 1));
  app.add_option("--topic", o.topic, "Topic filter")->capture_default_str();
  app.add_option("--count", o.count, "Messages to wait for")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "Give up after this many seconds (exit 3)")
      ->capture_default_str();
  app.add_option("--client-id", o.client_id, "MQTT client id")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  mosquitto_lib_init();
  const int code = tidegate::bench::Run(o);
  mosquitto_lib_cleanup();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", "tidegate-bench-null-sub", e.what());
    return 1;
  }
}
