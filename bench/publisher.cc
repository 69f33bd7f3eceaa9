// SPDX-License-Identifier: Apache-2.0
// tidegate-bench-publisher: publishes the simulator's default events (tools/sim's
// EventGenerator, ~300 bytes of JSON with PII) to an MQTT broker as fast as the broker takes
// them, for bench/run.sh. Payloads come from a pregenerated pool so that generation is not
// measured; each publish only patches a unique msg_id into its pool entry, so no two messages
// are equal (the agent's ingest dedup keeps them all). Devices are drawn uniform or Zipf from
// the seed. At most --window messages are unacknowledged at once (QoS 1: PUBACK; QoS 0:
// written to the socket). One thread publishes; libmosquitto's network thread acknowledges.
// Prints one JSON line on stdout at the end (with its own CPU per message, both threads,
// first publish to last acknowledgement); --log writes "msg_id publish_unix_ms" per message.
#include <fmt/format.h>
#include <mosquitto.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "bench/process_cpu.h"
#include "common/clock.h"
#include "tools/sim/event_generator.h"

namespace tidegate::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Options {
  std::string host = "127.0.0.1";
  int port = 1883;
  int qos = 1;
  uint64_t count = 100000;
  uint32_t devices = 1000;
  std::string dist = "uniform";
  double zipf_s = 1.1;
  uint64_t seed = 1;
  uint32_t window = 1000;
  size_t pool = 65536;
  std::string log_path;
  std::string client_id = "tidegate-bench-pub";
  int timeout_s = 120;
};

// The splitmix64 finalizer: a bijection, so distinct indexes give distinct msg_ids.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Draws device indexes: uniform, or Zipf (P(k) proportional to 1/(k+1)^s) by inverse CDF.
class DeviceSampler {
 public:
  DeviceSampler(uint32_t devices, bool zipf, double s) : devices_(devices) {
    if (!zipf) return;
    cdf_.resize(devices);
    double sum = 0;
    for (uint32_t k = 0; k < devices; ++k) {
      sum += 1.0 / std::pow(static_cast<double>(k) + 1.0, s);
      cdf_[k] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }
  uint32_t Sample(Rng& rng) const {
    if (cdf_.empty()) return static_cast<uint32_t>(rng.Uniform(devices_));
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), rng.NextDouble());
    return static_cast<uint32_t>(std::min<ptrdiff_t>(it - cdf_.begin(), devices_ - 1));
  }

 private:
  uint32_t devices_;
  std::vector<double> cdf_;
};

struct PoolEntry {
  std::string topic;
  std::string payload;
  size_t msg_id_at = 0;  // offset of the 16 hex digits of msg_id in payload
};

// The generator's payload starts {"device_id":"dev-0001","msg_id":"<16 hex>",...; the device
// is replaced by the sampled one (readings keep the generator's walk, which is harmless here).
PoolEntry MakeEntry(const sim::SimEvent& event, uint32_t device) {
  constexpr std::string_view kDevicePrefix = R"({"device_id":")";
  constexpr std::string_view kIdKey = R"("msg_id":")";
  const size_t id_end = event.payload.find('"', kDevicePrefix.size());
  PoolEntry entry;
  entry.topic = "devices/" + sim::DeviceId(device) + "/telemetry";
  entry.payload = std::string(kDevicePrefix) + sim::DeviceId(device) + event.payload.substr(id_end);
  entry.msg_id_at = entry.payload.find(kIdKey) + kIdKey.size();
  return entry;
}

std::vector<PoolEntry> BuildPool(const Options& options) {
  sim::GeneratorOptions generator_options;
  generator_options.devices = options.devices;
  sim::EventGenerator generator(generator_options, options.seed, RealClock());
  const DeviceSampler sampler(options.devices, options.dist == "zipf", options.zipf_s);
  Rng rng(Mix64(options.seed ^ 0x7a6970662d646576ull));
  std::vector<PoolEntry> pool;
  const size_t size = std::max<size_t>(1, std::min<size_t>(options.pool, options.count));
  pool.reserve(size);
  for (size_t i = 0; i < size; ++i)
    pool.push_back(MakeEntry(generator.Next(), sampler.Sample(rng)));
  return pool;
}

void PatchMsgId(PoolEntry& entry, uint64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, id >>= 4)
    entry.payload[entry.msg_id_at + static_cast<size_t>(i)] = kHex[id & 15];
}

// Counters shared with libmosquitto's network thread. The publishing thread takes mu only
// when it has to wait (a full window, the last acks), and an ack wakes it only while it
// waits: it sets `waiting` before it reads `acked`, an ack adds to `acked` before it reads
// `waiting` (both sequentially consistent), so one of the two always sees the other. (What
// the publisher's CPU at QoS 1 depends on is the window: libmosquitto walks its list of
// messages in flight at every PUBACK.)
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<uint64_t> acked{0};
  std::atomic<bool> waiting{false};
  std::atomic<bool> disconnected{false};
  int connack_rc = -1;  // guarded by mu
};

void OnConnect(mosquitto*, void* self, int rc) {
  auto* shared = static_cast<Shared*>(self);
  const std::lock_guard lock(shared->mu);
  shared->connack_rc = rc;
  shared->cv.notify_all();
}
void OnDisconnect(mosquitto*, void* self, int) {
  auto* shared = static_cast<Shared*>(self);
  const std::lock_guard lock(shared->mu);
  shared->disconnected = true;
  shared->cv.notify_all();
}
void OnPublish(mosquitto*, void* self, int) {
  auto* shared = static_cast<Shared*>(self);
  shared->acked.fetch_add(1);
  if (shared->waiting.load()) {
    const std::lock_guard lock(shared->mu);
    shared->cv.notify_all();
  }
}

// Waits until done() or the deadline; false on the deadline.
template <typename Done>
bool WaitFor(Shared& shared, std::chrono::steady_clock::time_point deadline, Done done) {
  if (done()) return true;
  std::unique_lock lock(shared.mu);
  shared.waiting = true;
  const bool ok = shared.cv.wait_until(lock, deadline, done);
  shared.waiting = false;
  return ok;
}

struct MosquittoDeleter {
  void operator()(mosquitto* mosq) const { mosquitto_destroy(mosq); }
};
using Mosq = std::unique_ptr<mosquitto, MosquittoDeleter>;

Mosq Connect(const Options& options, Shared& shared) {
  Mosq mosq(mosquitto_new(options.client_id.c_str(), true, &shared));
  if (!mosq) return nullptr;
  mosquitto_connect_callback_set(mosq.get(), OnConnect);
  mosquitto_disconnect_callback_set(mosq.get(), OnDisconnect);
  mosquitto_publish_callback_set(mosq.get(), OnPublish);
  mosquitto_int_option(mosq.get(), MOSQ_OPT_SEND_MAXIMUM, static_cast<int>(options.window));
  mosquitto_int_option(mosq.get(), MOSQ_OPT_TCP_NODELAY, 1);
  int rc = mosquitto_connect(mosq.get(), options.host.c_str(), options.port, 60);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(mosq.get());
  if (rc != MOSQ_ERR_SUCCESS) {
    std::cerr << fmt::format("publisher: connecting to {}:{}: {}\n", options.host, options.port,
                             mosquitto_strerror(rc));
    return nullptr;
  }
  std::unique_lock lock(shared.mu);
  if (!shared.cv.wait_for(lock, seconds(10), [&] { return shared.connack_rc >= 0; }) ||
      shared.connack_rc != 0) {
    std::cerr << fmt::format("publisher: no CONNACK from {}:{} within 10 s (rc {})\n", options.host,
                             options.port, shared.connack_rc);
    lock.unlock();
    mosquitto_loop_stop(mosq.get(), true);
    return nullptr;
  }
  return mosq;
}

struct RunResult {
  uint64_t published = 0;
  uint64_t acked = 0;
  int64_t first_ms = 0;
  int64_t last_publish_ms = 0;
  int64_t last_ack_ms = 0;
  int64_t cpu_us = 0;  // the whole process (both threads), first publish to last ack
  bool timed_out = false;
};

// Publishes every message, keeping at most options.window unacknowledged, then waits for the
// last acknowledgements. Gives up (timed_out) at the deadline or on a lost connection.
RunResult PublishAll(const Options& options, mosquitto* mosq, Shared& shared,
                     std::vector<PoolEntry>& pool, std::vector<int64_t>* times) {
  RunResult result;
  Clock& clock = RealClock();
  const auto deadline = clock.Monotonic() + seconds(options.timeout_s);
  const uint64_t id_key = Mix64(options.seed ^ 0x6d73672d69642d32ull);
  result.first_ms = clock.NowUnixMs();
  const int64_t first_cpu_us = tidegate::bench::ProcessCpuMicros();
  for (uint64_t i = 0; i < options.count; ++i) {
    if (!WaitFor(shared, deadline,
                 [&] { return shared.disconnected || i - shared.acked < options.window; }) ||
        shared.disconnected) {
      result.timed_out = true;
      break;
    }
    PoolEntry& entry = pool[i % pool.size()];
    PatchMsgId(entry, Mix64(id_key + i));
    if (times != nullptr) (*times)[i] = clock.NowUnixMs();
    const int rc = mosquitto_publish(mosq, nullptr, entry.topic.c_str(),
                                     static_cast<int>(entry.payload.size()), entry.payload.data(),
                                     options.qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::cerr << "publisher: publish failed: " << mosquitto_strerror(rc) << "\n";
      result.timed_out = true;
      break;
    }
    ++result.published;
  }
  result.last_publish_ms = clock.NowUnixMs();
  if (!WaitFor(shared, deadline, [&] { return shared.acked >= result.published; })) {
    result.timed_out = true;
  }
  result.acked = shared.acked;
  result.last_ack_ms = clock.NowUnixMs();
  result.cpu_us = tidegate::bench::ProcessCpuMicros() - first_cpu_us;
  return result;
}

bool WriteLog(const Options& options, const std::vector<int64_t>& times, uint64_t published) {
  std::ofstream out(options.log_path);
  const uint64_t id_key = Mix64(options.seed ^ 0x6d73672d69642d32ull);
  for (uint64_t i = 0; i < published; ++i) {
    out << fmt::format("{:016x} {}\n", Mix64(id_key + i), times[i]);
  }
  return static_cast<bool>(out.flush());
}

void PrintResult(const Options& options, const RunResult& r) {
  const double secs = static_cast<double>(std::max<int64_t>(1, r.last_ack_ms - r.first_ms)) / 1e3;
  std::cout
      << fmt::format(
             R"({{"published":{},"acked":{},"qos":{},"seed":{},"dist":"{}","zipf_s":{},"devices":{},)"
             R"("window":{},"first_publish_ms":{},"last_publish_ms":{},"last_ack_ms":{},)"
             R"("rate":{:.0f},"cpu_us_per_msg":{:.3f},"timed_out":{}}})",
             r.published, r.acked, options.qos, options.seed, options.dist, options.zipf_s,
             options.devices, options.window, r.first_ms, r.last_publish_ms, r.last_ack_ms,
             static_cast<double>(r.acked) / secs,
             static_cast<double>(r.cpu_us) /
                 static_cast<double>(std::max<uint64_t>(1, r.published)),
             r.timed_out)
      << std::endl;
}

int Run(const Options& options) {
  std::vector<PoolEntry> pool = BuildPool(options);
  std::cerr << fmt::format(
      "publisher: {} messages at QoS {}, {} devices {} (seed {}), pool {}, window {}\n",
      options.count, options.qos, options.devices,
      options.dist == "zipf" ? fmt::format("zipf s={}", options.zipf_s) : "uniform", options.seed,
      pool.size(), options.window);
  std::vector<int64_t> times;
  if (!options.log_path.empty()) times.resize(options.count);
  Shared shared;
  mosquitto_lib_init();
  int code = 1;
  if (Mosq mosq = Connect(options, shared)) {
    const RunResult result =
        PublishAll(options, mosq.get(), shared, pool, options.log_path.empty() ? nullptr : &times);
    mosquitto_disconnect(mosq.get());
    mosquitto_loop_stop(mosq.get(), false);
    PrintResult(options, result);
    const bool logged = options.log_path.empty() || WriteLog(options, times, result.published);
    if (!logged) std::cerr << "publisher: writing " << options.log_path << " failed\n";
    if (result.timed_out) {
      std::cerr << fmt::format("publisher: gave up after {} s: {} of {} acknowledged\n",
                               options.timeout_s, result.acked, options.count);
    }
    code = !result.timed_out && logged && result.acked == options.count ? 0 : 3;
  }
  mosquitto_lib_cleanup();
  return code;
}

}  // namespace
}  // namespace tidegate::bench

namespace {

int Main(int argc, char** argv) {
  tidegate::bench::Options o;
  CLI::App app{
      "Publishes the simulator's default events as fast as the broker takes them (bench/run.sh)."};
  app.add_option("--host", o.host, "Broker host")->capture_default_str();
  app.add_option("--port", o.port, "Broker port")->capture_default_str();
  app.add_option("--qos", o.qos, "QoS of every message")->check(CLI::Range(0, 1));
  app.add_option("--count", o.count, "Messages to publish")->capture_default_str();
  app.add_option("--devices", o.devices, "Device ids dev-0001..")->check(CLI::Range(1u, 1u << 30));
  app.add_option("--dist", o.dist, "Device distribution")
      ->check(CLI::IsMember({"uniform", "zipf"}));
  app.add_option("--zipf-s", o.zipf_s, "Zipf exponent")->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of payloads and devices")->capture_default_str();
  app.add_option("--window", o.window, "Max unacknowledged messages")
      ->check(CLI::Range(1u, 1u << 20));
  app.add_option("--pool", o.pool, "Pregenerated payloads")->capture_default_str();
  app.add_option("--log", o.log_path, "Write 'msg_id publish_unix_ms' per message");
  app.add_option("--client-id", o.client_id, "MQTT client id")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "Give up after this many seconds (exit 3)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return tidegate::bench::Run(o);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", "tidegate-bench-publisher", e.what());
    return 1;
  }
}
