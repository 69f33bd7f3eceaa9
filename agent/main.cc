// SPDX-License-Identifier: Apache-2.0
// tidegate: the edge ingestion agent's command line. Exit codes: 0 success, 1 runtime
// failure, 2 bad usage or invalid config. CLI11's exceptions stop here.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/agent_runner.h"
#include "agent/config_loader.h"
#include "agent/config_reference.h"
#include "agent/config_semantics.h"
#include "agent/keys_command.h"
#include "agent/sign_command.h"
#include "agent/state_dir_lock.h"
#include "agent/status_command.h"
#include "buffer/sqlite_store.h"
#include "common/log.h"
#include "common/time_format.h"
#include "schema/batch_view.h"

namespace {

using tidegate::Config;

constexpr size_t kMaxInspectBytes = 256 << 20;

constexpr const char* kDescription =
    "tidegate: edge ingestion agent for IoT gateways.\n"
    "Subscribes to device events on the local MQTT broker, validates them, buffers them\n"
    "durably and boundedly in SQLite while offline, and uploads deduplicated,\n"
    "zstd-compressed FlatBuffers batches over TLS when the uplink is available.\n"
    "Every config key, with its default and allowed values: `tidegate config reference`\n"
    "(also docs/config-reference.md); a commented config: configs/tidegate.yaml.\n\n"
    "Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid config.";

// Loads a config for a command, printing every problem; returns false on failure.
bool Load(const std::string& path, Config* config, int* exit_code) {
  auto loaded = tidegate::agent::LoadConfigFile(path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().message() << "\n";
    *exit_code = loaded.status().code() == tidegate::StatusCode::kInvalidArgument ? 2 : 1;
    return false;
  }
  *config = std::move(loaded).value();
  return true;
}

// `log_format` is --log-format, "" when not given: then agent.log_format decides.
int CmdRun(const std::string& path, const std::string& log_format) {
  Config config;
  int code = 0;
  if (!Load(path, &config, &code)) return code;
  (void)tidegate::InitLogging(config.agent.log_level, "tidegate",
                              log_format.empty() ? config.agent.log_format : log_format);
  // The checks of `config check`, with the same words; warnings do not stop the agent.
  const auto problems = tidegate::agent::CheckConfigSemantics(config);
  for (const auto& problem : problems) {
    const bool error = problem.severity == tidegate::agent::Severity::kError;
    spdlog::log(error ? spdlog::level::err : spdlog::level::warn, "{}", problem.ToString(path));
  }
  if (tidegate::agent::HasErrors(problems)) return 2;
  auto lock = tidegate::agent::StateDirLock::Acquire(config.agent.state_dir);
  if (!lock.ok()) {
    spdlog::error("{}", lock.status().message());
    return 1;
  }
  return tidegate::agent::RunAgent(config, path);
}

int CmdConfigCheck(const std::string& path, bool check_files) {
  Config config;
  int code = 0;
  if (!Load(path, &config, &code)) return code;
  const auto problems = tidegate::agent::CheckConfigSemantics(config, {.check_files = check_files});
  for (const auto& problem : problems) std::cerr << problem.ToString(path) << "\n";
  if (tidegate::agent::HasErrors(problems)) return 2;
  std::cout << path << ": OK (agent " << config.agent.id << ", " << config.mqtt.topics.size()
            << " topic filter(s), uplink " << config.uplink.url << ")\n";
  return 0;
}

int CmdInspect(const std::string& path, const std::vector<std::string>& dictionary_files) {
  tidegate::schema::DictionarySet dictionaries;
  for (const std::string& file : dictionary_files) {
    if (tidegate::Status added = dictionaries.AddFile(file); !added.ok()) {
      std::cerr << "--dictionary " << added.message() << "\n";
      return 2;
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return 1;
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::string data = bytes.str();
  if (tidegate::schema::LooksZstdCompressed(data)) {
    auto raw = tidegate::schema::DecompressBatch(data, kMaxInspectBytes, &dictionaries);
    if (!raw.ok()) {
      std::cerr << path << ": " << raw.status().ToString() << "\n";
      return 1;
    }
    data = std::move(raw).value();
  }
  auto batch = tidegate::schema::DecodeBatch(data);
  if (!batch.ok()) {
    std::cerr << path << ": " << batch.status().ToString() << "\n";
    return 1;
  }
  std::cout << tidegate::schema::BatchToJson(*batch) << "\n";
  return 0;
}

int CmdBufferStats(const std::string& path) {
  Config config;
  int code = 0;
  if (!Load(path, &config, &code)) return code;
  (void)tidegate::InitLogging("warn", "tidegate");
  // Read-only: creates nothing where no agent ran, and never writes under a running one.
  auto store = tidegate::buffer::SqliteStore::OpenReadOnly(config.agent.state_dir);
  if (!store.ok()) {
    const tidegate::Status& status = store.status();
    std::cerr << (status.code() == tidegate::StatusCode::kNotFound
                      ? status.message()
                      : "cannot open the buffer: " + status.ToString())
              << "\n";
    return 1;
  }
  auto stats = (*store)->Stats();
  if (!stats.ok()) {
    std::cerr << stats.status().ToString() << "\n";
    return 1;
  }
  std::printf("buffer:            %s\n", (*store)->path().c_str());
  std::printf("buffer_id:         %s\n", (*store)->buffer_id().c_str());
  std::printf("records:           %llu\n", static_cast<unsigned long long>(stats->records));
  std::printf("raw events:        %llu\n", static_cast<unsigned long long>(stats->events));
  std::printf(
      "oldest event:      %s\n",
      stats->oldest_ingest_ms ? tidegate::FormatRfc3339Ms(stats->oldest_ingest_ms).c_str() : "-");
  std::printf("in-flight batches: %llu\n",
              static_cast<unsigned long long>(stats->inflight_batches));
  std::printf("dead letters:      %llu\n", static_cast<unsigned long long>(stats->dead_letters));
  std::printf("rejected batches:  %llu\n",
              static_cast<unsigned long long>(stats->rejected_batches));
  std::printf("database bytes:    %llu (+ WAL %llu)\n",
              static_cast<unsigned long long>(stats->db_bytes),
              static_cast<unsigned long long>(stats->wal_bytes));
  for (const auto& [name, value] : stats->counters) {
    std::printf("counter %-28s %lld\n", name.c_str(), static_cast<long long>(value));
  }
  return 0;
}

// The options of every subcommand, and the subcommands, to tell which one was parsed.
struct Cli {
  std::string config_path, batch_path, keys_dir, key_id = "k1", key_file, log_format;
  std::vector<std::string> dictionaries;  // inspect --dictionary
  tidegate::agent::SignOptions sign;
  bool no_files = false;
  bool force = false;
  CLI::App* run = nullptr;
  CLI::App* check = nullptr;
  CLI::App* reference = nullptr;
  CLI::App* sign_cmd = nullptr;
  CLI::App* inspect = nullptr;
  CLI::App* keys_init = nullptr;
  CLI::App* keys_rotate = nullptr;
  CLI::App* stats = nullptr;
  CLI::App* status = nullptr;
};

void AddRunCommand(CLI::App& app, Cli& cli) {
  cli.run = app.add_subcommand(
      "run",
      "Run the agent in the foreground until SIGTERM or SIGINT.\n"
      "Logs go to stderr; /metrics, /healthz (live) and /readyz (ready) are served on\n"
      "agent.metrics_listen.");
  cli.run
      ->add_option("-c,--config", cli.config_path, "Config file (YAML, see configs/tidegate.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  cli.run
      ->add_option("--log-format", cli.log_format,
                   "Log records on stderr: logfmt or json (one JSON object a line); overrides\n"
                   "agent.log_format (default logfmt)")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->type_name("FORMAT");
}

void AddSignCommand(CLI::App& config, Cli& cli) {
  cli.sign_cmd = config.add_subcommand(
      "sign",
      "Wrap a config file into a signed remote-config bundle and print it on stdout (one\n"
      "line of JSON: {\"agent_id\",\"version\",\"config\",\"signature\"}; format and\n"
      "signature in docs/remote-config.md). Run it where the signing key lives, never on a\n"
      "gateway. The config is validated first as `config check --no-files` would.\n"
      "An agent accepts a bundle only if the signature verifies under its\n"
      "remote_config.signing_public_key, it names the agent (or '*'), and its version is\n"
      "above every version that agent accepted before.\n\n"
      "Exit codes: 0 printed; 2 bad usage, an unreadable key or config file, a key file\n"
      "readable by others (it must be mode 0600), or an invalid config; 1 output failed.");
  cli.sign_cmd
      ->add_option("--key", cli.sign.key_file,
                   "Ed25519 secret key file (signing.key from `tidegate keys init`), mode 0600")
      ->required()
      ->type_name("SK");
  cli.sign_cmd
      ->add_option("--version", cli.sign.version,
                   "Bundle version, 1..2^53; must rise with every bundle (agents refuse a\n"
                   "version not above the highest they accepted)")
      ->required()
      ->type_name("N");
  cli.sign_cmd
      ->add_option("--agent", cli.sign.agent,
                   "The agent.id the bundle is for, or '*' for every agent (default '*')")
      ->type_name("ID|*");
  cli.sign_cmd->add_option("FILE", cli.sign.config_file, "Config file to sign")->required();
}

void AddConfigCommands(CLI::App& app, Cli& cli) {
  auto* config = app.add_subcommand("config", "Work with config files.");
  config->require_subcommand(1);
  cli.check = config->add_subcommand(
      "check",
      "Validate a config strictly: unknown keys, wrong types, bad durations, sizes,\n"
      "JSON Pointers or topic filters; the files it names (they must open, private keys\n"
      "mode 0600, a config holding a password unreadable by others); privacy rules that\n"
      "match no subscribed topic. Prints every problem as FILE:LINE: key: message and\n"
      "exits 2 if there is one. Warnings (FILE:LINE: key: warning: ...; likely mistakes\n"
      "such as '*' or a trailing '/' in a topic filter, an aggregation matching no\n"
      "subscribed topic) are printed too and leave the exit code 0; `run` logs them.");
  cli.check->add_option("FILE", cli.config_path, "Config file to check")->required();
  cli.check->add_flag("--no-files", cli.no_files,
                      "Do not open the files the config names nor look at its own mode (for a\n"
                      "config checked away from the gateway that will run it)");
  cli.reference = config->add_subcommand(
      "reference",
      "Print every config key: type, allowed values, default, what it does and an example,\n"
      "grouped by section (Markdown; the same text as docs/config-reference.md).");
  AddSignCommand(*config, cli);
}

void AddKeysCommands(CLI::App& app, Cli& cli) {
  auto* keys = app.add_subcommand("keys", "Create and rotate the agent's keys.");
  keys->require_subcommand(1);
  cli.keys_init = keys->add_subcommand(
      "init",
      "Create a token key (with a key id), an Ed25519 config-signing pair and an X25519\n"
      "recipient pair in DIR, every file mode 0600. Refuses to overwrite existing keys\n"
      "unless --force is given (replacing a token key changes every token it makes).");
  cli.keys_init->add_option("--dir", cli.keys_dir, "Directory for the key files")->required();
  cli.keys_init->add_option("--key-id", cli.key_id, "Id of the first token key (default k1)");
  cli.keys_init->add_flag("--force", cli.force, "Overwrite existing key files");
  cli.keys_rotate = keys->add_subcommand(
      "rotate",
      "Add a new current token key; the previous one stays in the file as retired, so\n"
      "tokens carry the id of the key that made them. Restart the agent afterwards.");
  cli.keys_rotate->add_option("--key-file", cli.key_file, "The privacy.key_file to rotate")
      ->required();
  cli.keys_rotate->add_option("--id", cli.key_id, "Id of the new key (e.g. k2)")->required();
}

void AddInspectAndBufferCommands(CLI::App& app, Cli& cli) {
  cli.inspect = app.add_subcommand(
      "inspect",
      "Decode a batch file (as sent on the wire, zstd-compressed, or the raw FlatBuffer)\n"
      "and print it as JSON. The file is verified first; a damaged batch exits 1.");
  cli.inspect->add_option("BATCHFILE", cli.batch_path, "Batch file")->required();
  cli.inspect
      ->add_option("--dictionary", cli.dictionaries,
                   "A zstd dictionary the batch may be compressed with\n"
                   "(uplink.compression.dictionary); repeatable.")
      ->type_name("FILE");
  auto* buffer = app.add_subcommand("buffer", "Look at the agent's buffer.");
  buffer->require_subcommand(1);
  cli.stats = buffer->add_subcommand(
      "stats",
      "Print what the buffer in agent.state_dir holds. Opens it read-only: safe while the\n"
      "agent runs, and exits 1 (creating nothing) where no agent has run.");
  cli.stats->add_option("-c,--config", cli.config_path, "Config file naming agent.state_dir")
      ->required()
      ->check(CLI::ExistingFile);
}

void AddStatusCommand(CLI::App& app, Cli& cli) {
  cli.status = app.add_subcommand(
      "status",
      "Print the live state of the agent running with this config, for a person at a\n"
      "terminal: whether it is ready (and the reasons if not), the buffer (open, committing\n"
      "or failing, backlog in records and bytes against buffer.max_bytes, age of the oldest\n"
      "event), the broker connection, events received, ingested, duplicated and dropped by\n"
      "reason, the uplink (delivering, or failing for how long and with which HTTP status),\n"
      "batches sent, acked, retried and rejected, bytes on the wire, and the watermark lag\n"
      "of each aggregation. It asks the agent over HTTP on agent.metrics_listen (/metrics\n"
      "and /readyz, the same state Prometheus and probes see; a wildcard address is asked\n"
      "on loopback) and never opens the buffer. Prints counts and names, no payload values.\n\n"
      "Exit codes: 0 the agent is ready; 3 it runs but is not ready (see \"last errors\");\n"
      "1 no agent answers (not running, still starting, another config) or metrics are\n"
      "off (agent.metrics_listen empty); 2 bad usage or invalid config.\n"
      "See also: tidegate buffer stats (the buffer on disk, agent running or not).");
  cli.status
      ->add_option("-c,--config", cli.config_path,
                   "Config file of the running agent (agent.metrics_listen is read)")
      ->required()
      ->check(CLI::ExistingFile);
}

int CmdStatus(const std::string& path) {
  Config config;
  int code = 0;
  if (!Load(path, &config, &code)) return code;
  return tidegate::agent::StatusCommand(config);
}

int Dispatch(const Cli& cli) {
  if (cli.run->parsed()) return CmdRun(cli.config_path, cli.log_format);
  if (cli.check->parsed()) return CmdConfigCheck(cli.config_path, !cli.no_files);
  if (cli.reference->parsed()) {
    std::cout << tidegate::agent::ConfigReference();
    return 0;
  }
  if (cli.sign_cmd->parsed()) return tidegate::agent::ConfigSign(cli.sign);
  if (cli.inspect->parsed()) return CmdInspect(cli.batch_path, cli.dictionaries);
  if (cli.stats->parsed()) return CmdBufferStats(cli.config_path);
  if (cli.status->parsed()) return CmdStatus(cli.config_path);
  if (cli.keys_init->parsed())
    return tidegate::agent::KeysInit(cli.keys_dir, cli.key_id, cli.force);
  if (cli.keys_rotate->parsed()) return tidegate::agent::KeysRotate(cli.key_file, cli.key_id);
  return 2;
}

int Main(int argc, char** argv) {
  // The buffer holds whatever the privacy rules did not cover, and keys are secrets: what the
  // agent creates is private whatever the caller's umask (directories 0700, files 0600).
  umask(077);
  CLI::App app(kDescription, "tidegate");
  app.set_version_flag("--version", std::string("tidegate ") + TIDEGATE_VERSION);
  app.require_subcommand(1);
  Cli cli;
  AddRunCommand(app, cli);
  AddConfigCommands(app, cli);
  AddInspectAndBufferCommands(app, cli);
  AddKeysCommands(app, cli);
  AddStatusCommand(app, cli);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return Dispatch(cli);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (...) {
    // The commands turn every library exception into a message; this is a last resort.
    std::fputs("tidegate: unexpected internal error\n", stderr);
    return 1;
  }
}
