// SPDX-License-Identifier: Apache-2.0
// A mosquitto 2.0 plugin for the benchmark's "plugin" scenario (bench/README.md): it measures
// what an ingest running inside the gateway's broker would save and cost, before anyone
// builds one. It sees every PUBLISH in the broker's own thread, before the broker stores it
// and acknowledges it (MOSQ_EVT_MESSAGE), and does one of two things there:
//   - counts it and reads its payload (the hop to a subscriber is gone: no send, no receive);
//   - or also commits it to SQLite, one transaction per message, as "stored before the
//     device's PUBACK" would need (mosquitto cannot defer an acknowledgement past the
//     callback's return, so a group commit cannot help here).
// Options (mosquitto.conf): plugin_opt_count_file PATH (required; "received N" is written
// there when the broker stops), plugin_opt_commit_db PATH (optional; the database to commit
// to, WAL with synchronous=NORMAL like the agent's buffer). Not part of the agent.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

struct Probe {
  mosquitto_plugin_id_t* id = nullptr;
  std::string count_file;
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  uint64_t received = 0;
  uint64_t payload_sum = 0;  // read every byte, as a parser would
  uint64_t failed_commits = 0;
};

Probe g_probe;

int OnMessage(int /*event*/, void* event_data, void* /*userdata*/) {
  auto* msg = static_cast<mosquitto_evt_message*>(event_data);
  const auto* bytes = static_cast<const unsigned char*>(msg->payload);
  uint64_t sum = 0;
  for (uint32_t i = 0; i < msg->payloadlen; ++i) sum += bytes[i];
  g_probe.payload_sum += sum;
  ++g_probe.received;
  if (g_probe.insert != nullptr) {
    sqlite3_bind_text(g_probe.insert, 1, msg->topic, -1, SQLITE_STATIC);
    sqlite3_bind_blob(g_probe.insert, 2, msg->payload, static_cast<int>(msg->payloadlen),
                      SQLITE_STATIC);
    if (sqlite3_step(g_probe.insert) != SQLITE_DONE) ++g_probe.failed_commits;
    sqlite3_reset(g_probe.insert);
  }
  return MOSQ_ERR_SUCCESS;
}

bool OpenDb(const char* path) {
  if (sqlite3_open(path, &g_probe.db) != SQLITE_OK) return false;
  const char* setup =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, topic TEXT, payload BLOB);";
  if (sqlite3_exec(g_probe.db, setup, nullptr, nullptr, nullptr) != SQLITE_OK) return false;
  return sqlite3_prepare_v2(g_probe.db, "INSERT INTO events(topic, payload) VALUES(?1, ?2)", -1,
                            &g_probe.insert, nullptr) == SQLITE_OK;
}

}  // namespace

extern "C" {

int mosquitto_plugin_version(int /*count*/, const int* /*versions*/) { return 5; }

int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** /*userdata*/,
                          mosquitto_opt* options, int option_count) {
  g_probe.id = identifier;
  for (int i = 0; i < option_count; ++i) {
    const std::string key = options[i].key;
    if (key == "count_file") {
      g_probe.count_file = options[i].value;
    } else if (key == "commit_db" && !OpenDb(options[i].value)) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "probe: cannot open %s", options[i].value);
      return MOSQ_ERR_UNKNOWN;
    }
  }
  if (g_probe.count_file.empty()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "probe: plugin_opt_count_file is required");
    return MOSQ_ERR_INVAL;
  }
  return mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, OnMessage, nullptr, nullptr);
}

int mosquitto_plugin_cleanup(void* /*userdata*/, mosquitto_opt* /*options*/, int /*option_count*/) {
  mosquitto_callback_unregister(g_probe.id, MOSQ_EVT_MESSAGE, OnMessage, nullptr);
  if (g_probe.insert != nullptr) sqlite3_finalize(g_probe.insert);
  if (g_probe.db != nullptr) sqlite3_close(g_probe.db);
  if (FILE* f = std::fopen(g_probe.count_file.c_str(), "w")) {
    std::fprintf(f, "received %llu failed_commits %llu\n",
                 static_cast<unsigned long long>(g_probe.received),
                 static_cast<unsigned long long>(g_probe.failed_commits));
    std::fclose(f);
  }
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
