// SPDX-License-Identifier: Apache-2.0
// Payload schemas end to end, real parts only: tidegate-sim with --broken-firmware puts 3 of
// 10 devices on a firmware that breaks the documented payload three ways; the agent has a
// schema declaring the sim's fields. Every broken event becomes one schema_violation dead
// letter naming the schema, path and rule, counted exactly per rule on /metrics; every
// sound event lands once (published = landed + dead-lettered); and no broken event's msg_id
// (a canary: each is unique) appears in the buffer's files, the debug log, /metrics or the
// landing. The sound events' declared fields travel as typed columns (wire schema_version 2),
// and the landing JSON of each is still the payload the simulator published after the
// privacy rules (a tokenized declared string, a masked address), byte for byte.
#include <simdjson.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSchemaYaml[] = R"(schemas:
  - name: thermo
    match: devices/+/telemetry
    fields:
      /device_id: {type: string, required: true}
      /msg_id: {type: string, required: true, max_length: 16}
      /ts: {type: timestamp, required: true}
      /seq: {type: integer, required: true, min: 1}
      /temp: {type: number, required: true, min: -40, max: 85}
      /humidity: {type: number, required: true, min: 0, max: 100}
      /battery: {type: integer, required: true, min: 0, max: 100}
)";

// A declared string tokenized (it travels in its string column as the token) and an
// undeclared address masked (it travels in the remainder).
std::string PrivacyYaml(const std::string& keys) {
  return "privacy:\n  key_file: " + keys +
         "/token.keys\n  rules:\n    - match: devices/+/telemetry\n"
         "      tokenize: [/device_id]\n      mask: {/ip: ipv4_prefix_24}\n";
}

// Replaces the string value of "key" in payload with replacement; returns the old value.
std::string ReplaceValue(std::string* payload, const std::string& key,
                         const std::string& replacement) {
  const std::string open = "\"" + key + "\":\"";
  const size_t at = payload->find(open);
  if (at == std::string::npos) return "";
  const size_t begin = at + open.size();
  const size_t end = payload->find('"', begin);
  std::string old = payload->substr(begin, end - begin);
  payload->replace(begin, end - begin, replacement);
  return old;
}

// The simulator's payload as the privacy rules above leave it, but for the token itself:
// "ip":"a.b.c.d" -> "a.b.c.0/24", "device_id" -> "<token>".
std::string AfterPrivacy(std::string payload) {
  std::string ip = ReplaceValue(&payload, "ip", "");
  ReplaceValue(&payload, "ip", ip.substr(0, ip.rfind('.') + 1) + "0/24");
  ReplaceValue(&payload, "device_id", "<token>");
  return payload;
}

// The detail each breakage must produce, and the rule it counts under.
const std::map<std::string, std::pair<std::string, std::string>> kExpected = {
    {"numbers_as_strings", {"schema=thermo v1 path=/temp rule=type want=number", "type"}},
    {"missing_required", {"schema=thermo v1 path=/battery rule=required", "required"}},
    {"out_of_range", {"schema=thermo v1 path=/humidity rule=max", "max"}},
};

// A JSON string value after `"key":"` in line; "" if absent.
std::string StringAfter(const std::string& line, const std::string& key) {
  const std::string open = "\"" + key + "\":\"";
  const size_t at = line.find(open);
  if (at == std::string::npos) return "";
  const size_t begin = at + open.size();
  return line.substr(begin, line.find('"', begin) - begin);
}

struct LogEntry {
  std::string msg_id;
  std::string broken;  // "" for a sound event
};

std::vector<LogEntry> ReadLog(const std::string& path) {
  std::vector<LogEntry> out;
  for (const std::string& line : ReadLines(path)) {
    if (line.empty()) continue;
    // "broken" comes before "payload" in a log line; the payload has no such key.
    const std::string head = line.substr(0, line.find("\"payload\":"));
    out.push_back({StringAfter(line, "msg_id"), StringAfter(head, "broken")});
  }
  return out;
}

// The text of the last member "payload" of an NDJSON line (the landing format and the
// simulator's log both write it last, as the payload's own JSON text).
std::string PayloadText(const std::string& line) {
  const size_t at = line.find("\"payload\":");
  if (at == std::string::npos || line.empty() || line.back() != '}') return "";
  const size_t begin = at + 10;
  return line.substr(begin, line.size() - 1 - begin);
}

// msg_id -> payload text of every sound event the simulator published.
std::map<std::string, std::string> PublishedPayloads(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const std::string& line : ReadLines(path)) {
    const std::string head = line.substr(0, line.find("\"payload\":"));
    if (!line.empty() && StringAfter(head, "broken").empty()) {
      out[StringAfter(line, "msg_id")] = AfterPrivacy(PayloadText(line));
    }
  }
  return out;
}

// schema_version of each batch the collector kept (`tidegate inspect` on the raw bodies).
std::multiset<uint64_t> RawBatchVersions(E2eStack& stack) {
  std::multiset<uint64_t> versions;
  simdjson::dom::parser parser;
  for (const auto& entry : fs::directory_iterator(stack.RawDir())) {
    const std::string name = entry.path().filename().string();
    if (name.front() == '.') continue;
    Result<CommandResult> inspect =
        RunCommand({BinaryPath("tidegate"), "inspect", entry.path().string()});
    RequireOk(inspect.status());
    REQUIRE(inspect->exit_code == 0);
    uint64_t version = 0;
    REQUIRE_FALSE(
        parser.parse(simdjson::padded_string(inspect->stdout_text))["schema_version"].get(version));
    versions.insert(version);
  }
  return versions;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

// (reason, detail) of every dead letter, read as a second process would.
std::vector<std::pair<std::string, std::string>> DeadLetters(const std::string& path) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  sqlite3_busy_timeout(raw, 2000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT reason, detail FROM dead_letters ORDER BY id", -1, &stmt,
                             nullptr) == SQLITE_OK);
  std::vector<std::pair<std::string, std::string>> rows;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                      reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  return rows;
}

// Where a broken value could end up, as text.
std::vector<std::pair<std::string, std::string>> Places(E2eStack& stack) {
  std::vector<std::pair<std::string, std::string>> places;
  for (const char* f : {"buffer.db", "buffer.db-wal", "buffer.db-shm"}) {
    const std::string path = stack.StateDir() + "/" + f;
    if (fs::exists(path)) places.emplace_back(path, ReadFile(path));
  }
  places.emplace_back("agent log (debug)", ReadFile(stack.AgentLogPath()));
  if (auto metrics = stack.Metrics(); metrics.ok()) places.emplace_back("/metrics", *metrics);
  for (const auto& entry : fs::directory_iterator(stack.CollectorDataDir())) {
    places.emplace_back(entry.path().string(), ReadFile(entry.path().string()));
  }
  return places;
}

}  // namespace

TEST_CASE("broken firmware: schema violations are dead-lettered, counted exactly, never leaked",
          "[integration][schema]") {
  E2eStack stack("e2e-schema", {.keep_raw = true, .log_level = "debug"});
  const std::string keys = stack.dir().File("keys");
  Result<CommandResult> init = stack.RunTidegate({"keys", "init", "--dir", keys});
  RequireOk(init.status());
  REQUIRE(init->exit_code == 0);
  stack.mutable_options().extra_agent_yaml = kSchemaYaml + PrivacyYaml(keys);
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  RequireOk(stack.StartSim({"--count", "600", "--rate", "400", "--devices", "10",
                            "--broken-firmware", "0.3", "--seed", std::to_string(seed)}),
            &stack);
  Result<int> sim = stack.WaitSim(milliseconds(60'000));
  RequireOk(sim.status(), &stack);
  REQUIRE(*sim == 0);

  const std::vector<LogEntry> log = ReadLog(stack.PublishLogPath());
  REQUIRE(log.size() == 600);
  std::map<std::string, int> broken_by_kind;
  std::set<std::string> sound_ids;
  std::vector<std::string> canaries;
  for (const LogEntry& e : log) {
    REQUIRE(e.msg_id.size() == 16);
    if (e.broken.empty()) {
      sound_ids.insert(e.msg_id);
    } else {
      REQUIRE(kExpected.count(e.broken) == 1);
      ++broken_by_kind[e.broken];
      canaries.push_back(e.msg_id);
    }
  }
  INFO("seed " << seed << ", broken " << canaries.size());
  REQUIRE(broken_by_kind.size() == 3);  // 3 of 10 devices, ~180 events: each way occurs

  const std::string db_path = stack.StateDir() + "/buffer.db";
  if (!stack.WaitForLanded(sound_ids.size(), seconds(30))) FAIL(stack.Diagnostics());
  REQUIRE(WaitUntil([&] { return DeadLetters(db_path).size() >= canaries.size(); }, seconds(10)));
  REQUIRE(stack.WaitForDrained(milliseconds(30'000)));

  {  // every sound event landed once; published = landed + dead-lettered
    Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
    RequireOk(landed.status());
    std::multiset<std::string> ids;
    for (const LandedEvent& e : *landed) ids.insert(e.msg_id);
    CHECK(ids == std::multiset<std::string>(sound_ids.begin(), sound_ids.end()));
    CHECK(log.size() == landed->size() + canaries.size());
  }

  {  // the columnar layout loses nothing: landing JSON == published payload after privacy
    const std::map<std::string, std::string> published = PublishedPayloads(stack.PublishLogPath());
    Result<CommandResult> dump = RunCommand(
        {BinaryPath("tidegate-collector"), "dump", "--store", stack.CollectorStore(), "events"});
    RequireOk(dump.status());
    REQUIRE(dump->exit_code == 0);
    size_t compared = 0;
    std::istringstream lines(dump->stdout_text);
    for (std::string line; std::getline(lines, line);) {
      const std::string id = StringAfter(line, "msg_id");
      INFO(id);
      REQUIRE(published.count(id) == 1);
      std::string landed = PayloadText(line);
      CHECK(ReplaceValue(&landed, "device_id", "<token>").rfind("tok:", 0) == 0);
      CHECK(landed == published.at(id));
      ++compared;
    }
    CHECK(compared == sound_ids.size());
    const std::multiset<uint64_t> versions = RawBatchVersions(stack);
    CHECK(versions.count(2) == versions.size());
    CHECK_FALSE(versions.empty());
  }

  {  // one dead letter per broken event, with schema, path and rule
    std::map<std::string, int> by_detail;
    for (const auto& [reason, detail] : DeadLetters(db_path)) {
      CHECK(reason == "schema_violation");
      ++by_detail[detail];
    }
    for (const auto& [kind, count] : broken_by_kind) {
      INFO(kind);
      CHECK(by_detail[kExpected.at(kind).first] == count);
    }
    CHECK(by_detail.size() == broken_by_kind.size());
  }

  {  // counted per schema and rule, and in the dropped-by-reason accounting
    Result<std::string> page = stack.Metrics();
    RequireOk(page.status());
    for (const auto& [kind, count] : broken_by_kind) {
      INFO(kind);
      CHECK(MetricValue(*page, "tidegate_schema_violations_total{schema=\"thermo\",rule=\"" +
                                   kExpected.at(kind).second + "\"}") == count);
    }
    CHECK(MetricValue(*page, "tidegate_schema_violations_total{schema=\"thermo\",rule=\"enum\"}") ==
          0.0);
    CHECK(MetricValue(*page, "tidegate_dropped_total{reason=\"schema_violation\"}") ==
          static_cast<double>(canaries.size()));
    CHECK(MetricValue(*page, "tidegate_ingested_total") == static_cast<double>(sound_ids.size()));
    CHECK(MetricValue(*page, "tidegate_received_total") == static_cast<double>(log.size()));
  }

  auto leaks = [&](const std::string& when) {
    std::vector<std::string> found;
    for (const auto& [where, text] : Places(stack)) {
      for (const std::string& canary : canaries) {
        if (text.find(canary) != std::string::npos) found.push_back(canary + " in " + where + when);
      }
    }
    return found;
  };
  std::vector<std::string> found = leaks("");
  RequireOk(stack.StopAgent(), &stack);
  for (const std::string& leak : leaks(" (after stop)")) found.push_back(leak);
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  for (const LandedEvent& e : *landed) {
    for (const std::string& canary : canaries) {
      if (e.payload.find(canary) != std::string::npos) found.push_back(canary + " in the dump");
    }
  }
  std::string first_leaks;
  for (size_t i = 0; i < found.size() && i < 5; ++i) first_leaks += found[i] + "\n";
  INFO(first_leaks);
  CHECK(found.empty());
}

}  // namespace tidegate::testing
