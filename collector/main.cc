// SPDX-License-Identifier: Apache-2.0
// tidegate-collector's command line (CLI11). This file is the adapter that turns CLI11's
// and the standard library's exceptions into exit codes; nothing below it throws on purpose.
#include <fmt/format.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <limits>
#include <string>

#include "collector/agents_command.h"
#include "collector/dict_command.h"
#include "collector/dump_command.h"
#include "collector/exit_codes.h"
#include "collector/serve_command.h"
#include "common/log.h"
#include "common/units.h"

namespace tidegate::collector {
namespace {

constexpr char kExitCodesHelp[] =
    "\nEXIT STATUS\n"
    "  0  success (serve: clean shutdown after SIGTERM or SIGINT)\n"
    "  1  runtime failure: cannot bind, cannot load TLS files, database or I/O error\n"
    "  2  bad usage: unknown flag, missing or invalid value\n";

constexpr char kServeHelp[] =
    "Receive batches from tidegate agents over HTTPS and land them in --store: DIR/landing.db\n"
    "(SQLite) or a PostgreSQL database.\n\n"
    "Endpoints:\n"
    "  POST /v1/batches  Content-Type application/vnd.tidegate.batch+flatbuffers,\n"
    "                    Content-Encoding zstd, Idempotency-Key equal to the batch_id.\n"
    "                    200 {\"status\":\"landed\",...} or {\"status\":\"duplicate\",...}\n"
    "                    (a batch_id this agent_id landed before is acknowledged, not\n"
    "                    landed again); 403 client certificate of another agent;\n"
    "                    400 undecodable batch or Idempotency-Key mismatch; 413 body too\n"
    "                    large; 415 wrong Content-Type or Content-Encoding; 500 storage\n"
    "                    error; 503 a zstd dictionary this collector was not given (the\n"
    "                    agent retries 5xx and dead-letters other 4xx).\n"
    "  GET /v1/stats     batches_landed, batches_duplicate, batches_rejected, events,\n"
    "                    window_results, batches_forbidden, batches_unknown_dictionary\n"
    "                    as JSON (rejections count since start only).\n"
    "  POST /v1/opamp    OpAMP over plain HTTP (Content-Type application/x-protobuf):\n"
    "                    an AgentToServer in, a ServerToAgent out. Records the agent's\n"
    "                    report (instance_uid, id, sequence_num, remote config status,\n"
    "                    hash and error, health, effective config hash) in the store's\n"
    "                    agents table (see `agents`) and, with --config-dir, offers a\n"
    "                    bundle as remote config. The agent id is the description's\n"
    "                    service.instance.id (with --client-ca it must be a name of the\n"
    "                    client certificate: 403 otherwise). 400 undecodable, 413 over\n"
    "                    1 MiB, 415 wrong Content-Type, 500 storage error.\n"
    "  GET /healthz      200 \"ok\".\n\n"
    "With --mqtt, also consume batches from an MQTT v5 cloud broker (HTTPS keeps\n"
    "running): subscribe to $share/GROUP/tidegate/+/batches at QoS 1 over TLS with a\n"
    "client certificate (clean start off, 24 h session expiry, so a restarted collector\n"
    "with the same client id gets what the broker queued), land each batch whose topic\n"
    "names the batch's agent_id, and only then publish\n"
    "{\"batch_id\",\"status\":\"landed|duplicate|rejected|retry\"[,\"reason\"]} with the\n"
    "batch's correlation data to its response topic, if that is tidegate/AGENT_ID/acks.\n"
    "/v1/stats then adds mqtt_messages, mqtt_acks_published, mqtt_acks_skipped and\n"
    "mqtt_connects. A lost broker connection is retried with backoff (1 s to 60 s).\n\n"
    "Once listening, prints exactly one line on stdout,\n"
    "  tidegate-collector: listening on https://HOST:PORT   (http:// without TLS)\n"
    "and writes PORT to --ready-file. SIGTERM or SIGINT stops accepting, finishes\n"
    "in-flight requests, closes the database and exits 0.";

constexpr char kDumpHelp[] =
    "Print landed data as NDJSON on stdout, one JSON object a line, in the landing format.\n"
    "  events:     {\"agent_id\",\"seq\",\"topic\",\"device_id\",\"event_time\",\"ingest_time\",\n"
    "               \"late\",\"payload\"} ordered by agent_id, seq, arrival. Duplicates that\n"
    "               reached the collector in different batches are printed as they landed.\n"
    "  aggregates: {\"agent_id\",\"name\",\"key\",\"window_start\",\"window_end\",\"revision\",\n"
    "               \"final\",\"measures\":{\"<field>\":{\"<stat>\":value}}}, latest revision of\n"
    "               each window only, ordered by agent_id, name, key, window_start.\n"
    "Times are RFC 3339 UTC with milliseconds. The output is the same, byte for byte, from a\n"
    "SQLite directory and a PostgreSQL database holding the same batches (in PostgreSQL an\n"
    "event whose (agent_id, seq) landed before is kept once). Safe to run while `serve` is\n"
    "writing.";

constexpr char kAgentsHelp[] =
    "Print the agents that reported on POST /v1/opamp, as NDJSON on stdout, one agent a\n"
    "line, ordered by id then instance_uid:\n"
    "  {\"id\",\"instance_uid\",\"last_seen\",\"sequence_num\",\"config_status\",\n"
    "   \"config_hash\",\"config_error\",\"healthy\",\"health_status\",\n"
    "   \"effective_config_hash\"}\n"
    "instance_uid is the OpAMP instance (32 hex digits), last_seen RFC 3339 UTC with\n"
    "milliseconds, config_status one of unset, applied, applying, failed for the bundle\n"
    "whose SHA-256 is config_hash (hex), config_error the agent's reason for failed.\n"
    "A store from before the agents table prints nothing. Safe to run while `serve` is\n"
    "writing.";

constexpr char kDictTrainHelp[] =
    "Train a zstd dictionary for uplink.compression.dictionary from batches as this\n"
    "collector received them: the files `serve --keep-raw DIR` keeps (pass DIR, or files;\n"
    "zstd-compressed or plain FlatBuffer batches). Every file is decompressed within the\n"
    "bounds of serve and must decode as a batch; others are left out with a message. At\n"
    "least 10 batches are needed, a few hundred from the fleet's real traffic are better;\n"
    "at most 256 MiB of batches are read. The dictionary is written atomically to --out;\n"
    "its ID is printed. Give the file to the agents (uplink.compression.dictionary) and to\n"
    "every collector that receives from them (serve --dictionary) before the agents.";

struct Cli {
  ServeOptions serve;
  std::string max_body = "16MiB";
  DictTrainOptions dict_train;
  std::string dict_size = "110KiB";
  DumpOptions dump;
  AgentsOptions agents;
};

void AddServeOpamp(CLI::App& serve, Cli& cli) {
  serve
      .add_option("--config-dir", cli.serve.config_dir,
                  "Offer remote config to OpAMP agents on POST /v1/opamp: DIR/<id>.json\n"
                  "for the agent with that id, else DIR/all.json, each a signed bundle\n"
                  "(`tidegate config sign`) served as-is, at most 256 KiB, read at\n"
                  "every poll (replace a file atomically, with rename). Its config_hash\n"
                  "is the SHA-256 of the file's bytes; it is not sent again to an agent\n"
                  "that reports that hash as applied or failed. DIR must exist.")
      ->check(CLI::ExistingDirectory.description(""))
      ->type_name("DIR");
}

void AddServeDictionary(CLI::App& serve, Cli& cli) {
  serve
      .add_option("--dictionary", cli.serve.dictionaries,
                  "A zstd dictionary (uplink.compression.dictionary of the agents, at most\n"
                  "1 MiB); repeat for several (a new one beside the old while it rolls\n"
                  "out). Each batch is decompressed with the dictionary whose ID its zstd\n"
                  "frame names; one naming a dictionary not given here is answered with\n"
                  "a retry (503, MQTT status retry: the agent keeps the batch and sends it\n"
                  "again) and counted in /v1/stats batches_unknown_dictionary.")
      ->type_name("FILE");
}

void AddServeMqtt(CLI::App& serve, Cli& cli) {
  serve
      .add_option("--mqtt", cli.serve.mqtt_url,
                  "Also consume batches from this MQTT v5 broker, mqtts://HOST[:PORT]\n"
                  "(TLS only; port 8883 by default). Needs --group, --mqtt-ca,\n"
                  "--mqtt-cert and --mqtt-key.")
      ->type_name("URL");
  serve
      .add_option("--group", cli.serve.mqtt_group,
                  "Shared-subscription group of the collectors that split the batches\n"
                  "between them (letters, digits, - _ ., at most 64). Every batch goes to\n"
                  "one collector of the group. Pick a name gateways cannot guess: the\n"
                  "broker's ACL does not stop a client from joining the group.")
      ->type_name("NAME");
  serve
      .add_option("--mqtt-ca", cli.serve.mqtt_ca,
                  "PEM CA bundle that verifies the broker's certificate.")
      ->type_name("FILE");
  serve
      .add_option("--mqtt-cert", cli.serve.mqtt_cert,
                  "PEM client certificate; its CN must be a collector in the broker's ACL.")
      ->type_name("FILE");
  serve.add_option("--mqtt-key", cli.serve.mqtt_key, "PEM private key of --mqtt-cert.")
      ->type_name("FILE");
  serve
      .add_option("--mqtt-client-id", cli.serve.mqtt_client_id,
                  "MQTT client id (default tidegate-collector-GROUP-HOSTNAME). Keep it\n"
                  "across restarts: the broker queues for a session by client id.")
      ->type_name("ID");
}

void AddServeLogging(CLI::App* serve, Cli& cli) {
  serve
      ->add_option("--log-level", cli.serve.log_level,
                   "Log level on stderr: trace, debug (one line per request), info (one\n"
                   "line per landed batch), warn, error or off. Payloads are never logged.")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->type_name("LEVEL");
  serve
      ->add_option("--log-format", cli.serve.log_format,
                   "Log records on stderr: logfmt (key=value) or json (one object a line).")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->type_name("FORMAT");
}

CLI::App* AddServe(CLI::App& app, Cli& cli) {
  CLI::App* serve = app.add_subcommand("serve", kServeHelp);
  serve->footer(kExitCodesHelp);
  serve
      ->add_option("--listen", cli.serve.listen,
                   "Address to listen on, HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:8443 or\n"
                   "0.0.0.0:443. Port 0 picks a free port (see --ready-file).")
      ->required()
      ->type_name("ADDR");
  serve
      ->add_option("--store,--data-dir", cli.serve.store,
                   "Where batches land: a directory for landing.db (SQLite, WAL; created\n"
                   "if missing; a thread copies the WAL into the file, which keeps the\n"
                   "WAL under about 32 MiB), or a PostgreSQL database as a libpq URL,\n"
                   "postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB[?PARAM=VALUE...], whose\n"
                   "tables are created if missing. Several collectors may land into one\n"
                   "PostgreSQL database: each batch lands once. Prefer a password in\n"
                   "~/.pgpass or PGPASSWORD to one in the URL (messages hide it anyway).\n"
                   "--data-dir DIR is the older name of --store DIR.")
      ->required()
      ->type_name("DIR|URL");
  auto* cert = serve
                   ->add_option("--tls-cert", cli.serve.tls_cert,
                                "PEM server certificate (chain) for HTTPS. Requires --tls-key.\n"
                                "Without --tls-cert/--tls-key the collector serves plain\n"
                                "HTTP: for local testing only.")
                   ->check(CLI::ExistingFile.description(""))
                   ->type_name("FILE");
  auto* key = serve
                  ->add_option("--tls-key", cli.serve.tls_key,
                               "PEM private key of --tls-cert. Requires --tls-cert.")
                  ->check(CLI::ExistingFile.description(""))
                  ->type_name("FILE");
  cert->needs(key);
  key->needs(cert);
  serve
      ->add_option("--client-ca", cli.serve.client_ca,
                   "PEM CA bundle: require every client to present a certificate it\n"
                   "verifies (mutual TLS). Requires --tls-cert.")
      ->check(CLI::ExistingFile.description(""))
      ->needs(cert)
      ->type_name("FILE");
  serve
      ->add_option("--ready-file", cli.serve.ready_file,
                   "Once listening, write the port and a newline to FILE, atomically\n"
                   "(temporary file and rename), for scripts that wait for readiness.")
      ->type_name("FILE");
  serve
      ->add_option("--recipient-key", cli.serve.recipient_key,
                   "The recipient's X25519 secret key (recipient.key from `tidegate keys\n"
                   "init`, mode 0600): values the agent encrypted (privacy `encrypt`) are\n"
                   "opened with the sealed data keys in each batch before they land.\n"
                   "Without it they land opaque, as enc:<epoch>:<base64url>.")
      ->type_name("FILE");
  serve
      ->add_option("--keep-raw", cli.serve.keep_raw_dir,
                   "Debugging and audit aid: write every received batch body, exactly as\n"
                   "on the wire (still zstd-compressed), to DIR/<batch_id>.tgb.zst before\n"
                   "processing it; DIR is created if missing. Each file is written to a\n"
                   "temporary name and renamed, so it is always complete; a resent batch\n"
                   "replaces its copy. Bytes of the id other than letters, digits, - _ .\n"
                   "become _. Decode a file with `tidegate inspect FILE`, or with\n"
                   "`zstd -d` and `flatc --json tidegate_batch.fbs -- FILE`. If a body\n"
                   "cannot be written the request fails with 500 (the agent retries).\n"
                   "Files hold payloads after the agent's privacy filter; nothing removes\n"
                   "them.")
      ->type_name("DIR");
  serve
      ->add_option("--max-body-bytes", cli.max_body,
                   "Largest compressed request body accepted (413 above), e.g. 16MiB.\n"
                   "Decompressed batches are capped at 64MiB, or at this value if larger\n"
                   "(400 above).")
      ->capture_default_str()
      ->type_name("SIZE");
  return serve;
}

void AddDump(CLI::App& app, Cli& cli) {
  CLI::App* dump = app.add_subcommand("dump", kDumpHelp);
  dump->footer(kExitCodesHelp);
  dump->add_option("--store,--data-dir", cli.dump.store,
                   "The store given to serve: its data directory or its postgresql:// URL.\n"
                   "A missing directory or database, or an unreachable server, is an\n"
                   "error (exit 1). --data-dir DIR is the older name of --store DIR.")
      ->required()
      ->type_name("DIR|URL");
  dump->add_option("what", cli.dump.what, "events or aggregates.")
      ->required()
      ->check(CLI::IsMember({"events", "aggregates"}))
      ->type_name("events|aggregates");
}

void AddAgents(CLI::App& app, Cli& cli) {
  CLI::App* agents = app.add_subcommand("agents", kAgentsHelp);
  agents->footer(kExitCodesHelp);
  agents
      ->add_option("--store,--data-dir", cli.agents.store,
                   "The store given to serve: its data directory or its postgresql:// URL.\n"
                   "A missing directory or database, or an unreachable server, is an\n"
                   "error (exit 1).")
      ->required()
      ->type_name("DIR|URL");
}

void AddDict(CLI::App& app, Cli& cli) {
  CLI::App* dict = app.add_subcommand("dict", "zstd dictionaries for batches.");
  dict->require_subcommand(1);
  CLI::App* train = dict->add_subcommand("train", kDictTrainHelp);
  train->footer(kExitCodesHelp);
  train->add_option("--out", cli.dict_train.out, "The dictionary file to write.")
      ->required()
      ->type_name("FILE");
  train
      ->add_option("--size", cli.dict_size,
                   "Largest dictionary, from 1KiB to 1MiB (zstd's default 110KiB).")
      ->capture_default_str()
      ->type_name("SIZE");
  train
      ->add_option("--dictionary", cli.dict_train.dictionaries,
                   "A dictionary some of the batches were compressed with (repeatable).")
      ->type_name("FILE");
  train->add_option("inputs", cli.dict_train.inputs, "Batch files, or directories of them.")
      ->required()
      ->type_name("DIR|FILE...");
}

int DispatchDict(Cli& cli) {
  Result<uint64_t> size = ParseSize(cli.dict_size);
  if (!size.ok()) {
    fmt::print(stderr, "tidegate-collector: --size '{}': {}\n", cli.dict_size,
               size.status().message());
    return kExitUsage;
  }
  cli.dict_train.dictionary_bytes =
      static_cast<size_t>(std::min<uint64_t>(*size, std::numeric_limits<size_t>::max()));
  return RunDictTrain(cli.dict_train, stdout, stderr);
}

int Dispatch(const CLI::App& app, Cli& cli) {
  if (app.got_subcommand("serve")) {
    Result<uint64_t> max_body = ParseSize(cli.max_body);
    if (!max_body.ok() || *max_body == 0) {
      fmt::print(stderr, "tidegate-collector: --max-body-bytes '{}': {}\n", cli.max_body,
                 max_body.ok() ? "must be above 0" : max_body.status().message());
      return kExitUsage;
    }
    cli.serve.max_body_bytes = static_cast<size_t>(*max_body);
    return RunServe(cli.serve);
  }
  if (app.got_subcommand("agents")) return RunAgents(cli.agents, stdout, stderr);
  if (app.got_subcommand("dict")) return DispatchDict(cli);
  return RunDump(cli.dump, stdout, stderr);
}

int Main(int argc, char** argv) {
  CLI::App app(
      "tidegate-collector: the reference receiving end for tidegate agents. It lands\n"
      "batches in SQLite or PostgreSQL, deduplicating by (agent_id, batch_id), and dumps\n"
      "them as NDJSON; it also serves OpAMP remote config and lists the agents.",
      "tidegate-collector");
  app.set_version_flag("--version", std::string(TIDEGATE_VERSION));
  app.require_subcommand(1);
  app.footer(kExitCodesHelp);
  Cli cli;
  CLI::App* serve = AddServe(app, cli);
  AddServeMqtt(*serve, cli);
  AddServeOpamp(*serve, cli);
  AddServeDictionary(*serve, cli);
  AddServeLogging(serve, cli);
  AddDump(app, cli);
  AddAgents(app, cli);
  AddDict(app, cli);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  return Dispatch(app, cli);
}

}  // namespace
}  // namespace tidegate::collector

int main(int argc, char** argv) {
  // What the collector writes (landing.db with decrypted fields, raw archives) is private
  // whatever the caller's umask: directories 0700, files 0600.
  umask(077);
  try {
    return tidegate::collector::Main(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "tidegate-collector: {}\n", e.what());
    return tidegate::collector::kExitFailure;
  }
}
