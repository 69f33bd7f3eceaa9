// SPDX-License-Identifier: Apache-2.0
// tidegate-sim: command line, signals and wiring of generator, publisher and simulation.
// CLI11 throws; its exceptions stop here and become exit code 2.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/units.h"
#include "tools/sim/event_generator.h"
#include "tools/sim/help_text.h"
#include "tools/sim/publish_log.h"
#include "tools/sim/publisher.h"
#include "tools/sim/simulation.h"
#include "tools/sim/topic_template.h"

namespace tidegate::sim {
namespace {

using std::chrono::milliseconds;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Raised by the first SIGINT/SIGTERM (stop generating) and the second (stop waiting).
std::atomic<bool> g_stop{false};
std::atomic<bool> g_abort{false};
static_assert(std::atomic<bool>::is_always_lock_free, "used from a signal handler");

extern "C" void HandleSignal(int) {
  if (g_stop.exchange(true)) g_abort.store(true);
}

void InstallSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = HandleSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed stdout or socket must surface as an error, not kill the process mid-log.
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);
}

// Everything the command line sets, before conversion into component options.
struct Flags {
  PublisherOptions publisher;
  GeneratorOptions generator;
  SimulationOptions simulation;
  std::string time_format = "unix_ms";
  std::string duration, jitter = "0", late_by = "5m", offline_at = "5s", offline_for = "10s";
  std::string ack_timeout = "30s";
  uint32_t offline_device = 0;
  uint64_t count = 0;
  uint64_t seed = 0;
  std::optional<uint64_t> seed_given;
  std::string log_path;
  std::vector<std::string> topics;  // --topic specs, parsed in Finalize
  std::string password_file;
  // Owned by the CLI::App, so valid only inside ParseFlags.
  CLI::Option* topic_prefix_opt = nullptr;
  CLI::Option* count_opt = nullptr;
  CLI::Option* duration_opt = nullptr;
  CLI::Option* offline_opt = nullptr;
  CLI::Option* seed_opt = nullptr;
};

// CLI11 2.1 does not wrap option descriptions but indents after each newline, so help text
// is wrapped here to fit 100 columns next to the option column.
std::string Wrap(std::string_view text, size_t width = 68) {
  std::string out;
  size_t line_length = 0;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    if (line_length > 0 && line_length + 1 + word.size() > width) {
      out += '\n';
      line_length = 0;
    } else if (line_length > 0) {
      out += ' ';
      ++line_length;
    }
    out += word;
    line_length += word.size();
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  }
  return out;
}

const CLI::Validator& DurationValidator() {
  static const CLI::Validator kValidator(
      [](std::string& text) {
        Result<milliseconds> parsed = ParseDuration(text);
        return parsed.ok() ? std::string() : parsed.status().message();
      },
      "DURATION");
  return kValidator;
}

void AddConnectionFlags(CLI::App& app, Flags& f) {
  app.add_option("--host", f.publisher.host, Wrap("MQTT broker host name or address"))
      ->capture_default_str();
  app.add_option("--port", f.publisher.port, Wrap("MQTT broker TCP port"))
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("--client-id", f.publisher.client_id,
                 Wrap("MQTT client id; a second client with the same id disconnects the first"))
      ->default_str("tidegate-sim-<pid>");
  app.add_option("--qos", f.publisher.qos,
                 Wrap("QoS of every message. 1 and 2 are logged on PUBACK/PUBCOMP, 0 once the "
                      "client library accepted the message (it may still be lost)"))
      ->check(CLI::IsMember({0, 1, 2}))
      ->capture_default_str();
  app.add_option("--ack-timeout", f.ack_timeout,
                 Wrap("At exit, how long to wait for outstanding acknowledgements; messages still "
                      "unacknowledged then are reported, left out of the log, and make the exit "
                      "status 1"))
      ->check(DurationValidator())
      ->capture_default_str();
}

void AddSecurityFlags(CLI::App& app, Flags& f) {
  app.add_flag("--tls", f.publisher.tls,
               Wrap("Connect over TLS, verifying the broker against the system's CAs "
                    "(/etc/ssl/certs) unless --ca-file is given. Implied by --ca-file, "
                    "--cert-file and --key-file. The broker's name or address (--host) must "
                    "match its certificate"));
  app.add_option("--ca-file", f.publisher.ca_file,
                 Wrap("PEM file of the CA(s) that signed the broker's certificate; turns on TLS"))
      ->check(CLI::ExistingFile);
  auto* cert = app.add_option("--cert-file", f.publisher.cert_file,
                              Wrap("PEM client certificate, for a broker that requires one "
                                   "(require_certificate); needs --key-file"))
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--key-file", f.publisher.key_file,
                             Wrap("PEM private key of --cert-file (unencrypted)"))
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--username", f.publisher.username,
                 Wrap("User name sent in the MQTT CONNECT (e.g. for a broker's password_file)"))
      ->type_name("NAME");
  auto* password =
      app.add_option("--password", f.publisher.password,
                     Wrap("Password sent with --username. Visible to other users in the process "
                          "list: prefer --password-file or the environment variable"))
          ->envname("TIDEGATE_SIM_PASSWORD")
          ->type_name("SECRET");
  app.add_option("--password-file", f.password_file,
                 Wrap("Read the password from the first line of FILE (its newline dropped)"))
      ->check(CLI::ExistingFile)
      ->excludes(password);
}

void AddWorkloadFlags(CLI::App& app, Flags& f) {
  app.add_option("--rate", f.simulation.rate,
                 Wrap("Events per second (duplicates come on top), paced on a monotonic clock; "
                      "0 = as fast as the broker acknowledges"))
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  f.count_opt = app.add_option("--count", f.count,
                               Wrap("Stop after N events (duplicates not counted). Without --count "
                                    "or --duration, run until SIGINT/SIGTERM"));
  f.duration_opt =
      app.add_option("--duration", f.duration,
                     Wrap("Stop after D (e.g. 20s, 5m, 1h30m); with --count, whichever "
                          "comes first. A paced run that keeps up publishes rate x D events"))
          ->check(DurationValidator());
  app.add_option("--devices", f.generator.devices,
                 Wrap("Number of devices, ids dev-0001..dev-NNNN; each event picks one at random"))
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  f.topic_prefix_opt = app.add_option("--topic-prefix", f.generator.topic_prefix,
                                      Wrap("Topics are <prefix>/<device_id>/telemetry (when no "
                                           "--topic is given)"))
                           ->capture_default_str();
  app.add_option("--topic", f.topics,
                 Wrap("Publish to topics made from TEMPLATE, where {device} is the event's "
                      "device id; @WEIGHT (default 1) sets its share of events when --topic is "
                      "repeated, e.g. --topic 'devices/{device}/telemetry@99' --topic "
                      "'devices/{device}/alarms@1'. See TOPICS below"))
      ->type_name("TEMPLATE[@WEIGHT]");
  f.seed_opt =
      app.add_option("--seed", f.seed,
                     Wrap("Seed for every random choice (default: a random one). The seed used "
                          "is printed on stderr; the same seed and flags give the same "
                          "devices, readings, msg ids, duplicates and late events"));
}

void AddEventFlags(CLI::App& app, Flags& f) {
  app.add_option("--jitter", f.jitter,
                 Wrap("Out-of-order jitter: event time = now - uniform[0, D]"))
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_option("--dup-rate", f.generator.dup_rate,
                 Wrap("Fraction of events published a second time right after the first, same "
                      "payload and msg_id (logged with \"duplicate\":true)"))
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--late-fraction", f.generator.late_fraction,
                 Wrap("Fraction of events whose event time is now - --late-by"))
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--broken-firmware", f.generator.broken_firmware,
                 Wrap("Fraction of devices (round(F x devices), chosen by --seed) on a new "
                      "firmware that breaks every event's payload one of three ways: temp and "
                      "humidity as strings, battery missing, or humidity + 1000 (out of range); "
                      "logged with \"broken\":\"numbers_as_strings\", \"missing_required\" "
                      "or \"out_of_range\""))
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--late-by", f.late_by, Wrap("How far in the past late events are stamped"))
      ->check(DurationValidator())
      ->capture_default_str();
  f.offline_opt = app.add_option("--offline-device", f.offline_device,
                                 Wrap("0-based index of a device that goes offline: its events are "
                                      "held back, then published at once with their original "
                                      "event times (also released when the run ends)"));
  app.add_option("--offline-at", f.offline_at, Wrap("When the offline device drops, after start"))
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_option("--offline-for", f.offline_for, Wrap("How long the offline device stays offline"))
      ->check(DurationValidator())
      ->capture_default_str();
  app.add_flag("--pii,!--no-pii", f.generator.pii,
               Wrap("Include personal data (user.email, user.phone, ip, note), the default; "
                    "--no-pii leaves those keys out"));
  app.add_option("--time-format", f.time_format, Wrap("How \"ts\" is written"))
      ->check(CLI::IsMember({"unix_ms", "unix_s", "rfc3339"}))
      ->capture_default_str();
  app.add_option("--log", f.log_path,
                 Wrap("Write the exact publish log (NDJSON, see LOG below) to FILE; truncated "
                      "first, flushed at exit"))
      ->type_name("FILE");
}

milliseconds DurationOf(const std::string& text) {
  Result<milliseconds> parsed = ParseDuration(text);
  return parsed.ok() ? *parsed : milliseconds(0);  // already validated by DurationValidator
}

// Reads --password-file; MQTT sends a password only after a user name.
Status FinalizeCredentials(Flags& f) {
  if (!f.password_file.empty()) {
    std::ifstream in(f.password_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return InvalidArgument("--password-file " + f.password_file + ": cannot read a line");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    f.publisher.password = line;
  }
  if (!f.publisher.password.empty() && f.publisher.username.empty()) {
    return InvalidArgument("a password (--password, --password-file) needs --username");
  }
  return Status::Ok();
}

// Converts validated flags into component options; kInvalidArgument for combinations CLI11
// cannot check on its own.
Status Finalize(Flags& f) {
  TG_ASSIGN_OR_RETURN(f.generator.time_format, ParseTimeFormat(f.time_format));
  f.generator.jitter = DurationOf(f.jitter);
  f.generator.late_by = DurationOf(f.late_by);
  if (f.generator.topic_prefix.find_first_of(std::string_view("+#\0", 3)) != std::string::npos) {
    return InvalidArgument("--topic-prefix must not contain the wildcards + or #");
  }
  if (!f.topics.empty() && f.topic_prefix_opt->count() > 0) {
    return InvalidArgument("--topic and --topic-prefix exclude each other");
  }
  for (const std::string& spec : f.topics) {
    TG_ASSIGN_OR_RETURN(TopicTemplate topic, ParseTopicTemplate(spec));
    f.generator.topics.push_back(std::move(topic));
  }
  TG_RETURN_IF_ERROR(FinalizeCredentials(f));
  if (f.seed_opt->count() > 0) f.seed_given = f.seed;
  if (f.count_opt->count() > 0) f.simulation.count = f.count;
  if (f.duration_opt->count() > 0) f.simulation.duration = DurationOf(f.duration);
  if (f.offline_opt->count() > 0) {
    if (f.offline_device >= f.generator.devices) {
      return InvalidArgument(fmt::format("--offline-device {} is not below --devices {}",
                                         f.offline_device, f.generator.devices));
    }
    f.simulation.offline_device = f.offline_device;
  }
  f.simulation.offline_at = DurationOf(f.offline_at);
  f.simulation.offline_for = DurationOf(f.offline_for);
  return Status::Ok();
}

// Returns the exit code if the process should end now (help, version, bad usage).
std::optional<int> ParseFlags(int argc, char** argv, Flags& f) {
  CLI::App app(kHelpDescription, "tidegate-sim");
  app.footer(kHelpFooter);
  app.get_formatter()->column_width(30);
  app.set_version_flag("--version", std::string("tidegate-sim ") + TIDEGATE_VERSION);
  f.publisher.client_id = fmt::format("tidegate-sim-{}", getpid());
  AddConnectionFlags(app, f);
  AddSecurityFlags(app, f);
  AddWorkloadFlags(app, f);
  AddEventFlags(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  const Status status = Finalize(f);
  f.topic_prefix_opt = f.count_opt = f.duration_opt = f.offline_opt = f.seed_opt = nullptr;
  if (!status.ok()) {
    fmt::print(stderr, "tidegate-sim: {}\nRun with --help for more information.\n",
               status.message());
    return kExitUsage;
  }
  return std::nullopt;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::duration<double>>(d).count();
}

// Drains acknowledgements, closes the log and prints the summary; returns the exit code.
int Finish(const Status& run_status, const Simulation& simulation, Publisher& publisher,
           PublishLog* log, milliseconds ack_timeout, std::chrono::steady_clock::time_point started,
           Clock& clock) {
  bool failed = false;
  // A publish given up on because of a signal is the user's choice, not a failure.
  const bool interrupted = run_status.code() == StatusCode::kUnavailable && g_stop.load();
  if (!run_status.ok() && !interrupted) {
    fmt::print(stderr, "tidegate-sim: {}\n", run_status.message());
    failed = true;
  }
  const uint64_t unacked = publisher.Finish(ack_timeout);
  const double seconds = Seconds(clock.Monotonic() - started);
  fmt::print(stderr, "{}\n", simulation.ProgressLine(/*final=*/true));
  if (unacked > 0) {
    fmt::print(stderr,
               "tidegate-sim: {} messages not acknowledged at exit (--ack-timeout {} ms); "
               "they are not in the log\n",
               unacked, ack_timeout.count());
    failed = true;
  }
  if (log != nullptr) {
    if (Status closed = log->Close(); !closed.ok()) {
      fmt::print(stderr, "tidegate-sim: {}\n", closed.message());
      failed = true;
    }
  }
  const SimulationStats& stats = simulation.stats();
  fmt::print("published {} events ({} duplicates) in {:.3f} s, {:.1f} events/s\n", stats.events,
             stats.duplicates, seconds,
             seconds > 0 ? static_cast<double>(stats.events) / seconds : 0.0);
  std::fflush(stdout);
  return failed ? kExitFailure : kExitOk;
}

int Run(Flags& f) {
  const uint64_t seed = f.seed_given ? *f.seed_given : RandomSeed();
  fmt::print(stderr, "tidegate-sim: seed {} (rerun with --seed {} to reproduce)\n", seed, seed);
  std::unique_ptr<PublishLog> log;
  if (!f.log_path.empty()) {
    Result<std::unique_ptr<PublishLog>> opened = PublishLog::Open(f.log_path);
    if (!opened.ok()) {
      fmt::print(stderr, "tidegate-sim: {}\n", opened.status().message());
      return kExitFailure;
    }
    log = std::move(opened).value();
  }
  InstallSignalHandlers();
  f.publisher.log = log.get();
  f.publisher.stop = &g_stop;
  f.publisher.abort = &g_abort;
  Result<std::unique_ptr<Publisher>> publisher = ConnectMqttPublisher(f.publisher);
  if (!publisher.ok()) {
    fmt::print(stderr, "tidegate-sim: {}\n", publisher.status().message());
    if (log) (void)log->Close();
    return kExitFailure;
  }
  Clock& clock = RealClock();
  EventGenerator generator(f.generator, seed, clock);
  f.simulation.stop = &g_stop;
  f.simulation.progress = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  Simulation simulation(f.simulation, generator, **publisher, clock);
  const auto started = clock.Monotonic();
  const Status run_status = simulation.Run();
  return Finish(run_status, simulation, **publisher, log.get(), DurationOf(f.ack_timeout), started,
                clock);
}

}  // namespace
}  // namespace tidegate::sim

int main(int argc, char** argv) {
  try {
    tidegate::sim::Flags flags;
    if (std::optional<int> code = tidegate::sim::ParseFlags(argc, argv, flags)) return *code;
    return tidegate::sim::Run(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tidegate-sim: unexpected error: %s\n", e.what());
    return 1;
  }
}
