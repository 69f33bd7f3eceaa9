// SPDX-License-Identifier: Apache-2.0
// The wire format is public: a batch captured from the wire (tidegate-collector serve
// --keep-raw keeps each request body exactly as received) decodes with flatc and nothing but
// schema/tidegate_batch.fbs, and `tidegate inspect` reads the same file. That holds for the
// columnar layout too (schema_version 2): from flatc's JSON alone, the typed columns and the
// layouts give back the payloads the simulator published, byte for byte.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/time_format.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"

namespace tidegate::testing {
namespace {

using simdjson::dom::element;
using std::chrono::seconds;

constexpr size_t kEvents = 300;
constexpr std::string_view kRawSuffix = ".tgb.zst";

CommandResult MustRun(const std::vector<std::string>& argv) {
  Result<CommandResult> run = RunCommand(argv, seconds(30));
  RequireOk(run.status());
  INFO(JoinArgv(argv) << "\n" << run->stderr_text);
  REQUIRE(run->exit_code == 0);
  return *run;
}

// Batch files kept by the collector, sorted (partial files start with '.').
std::vector<std::string> RawBatchFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.front() != '.' && name.size() > kRawSuffix.size() &&
        name.compare(name.size() - kRawSuffix.size(), kRawSuffix.size(), kRawSuffix) == 0) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Stem(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  return name.substr(0, name.size() - kRawSuffix.size());
}

// zstd -d, then flatc --json with only the public schema; returns flatc's JSON text.
std::string DecodeWithFlatc(const std::string& compressed, const std::string& work_dir) {
  const std::string binary = work_dir + "/" + Stem(compressed) + ".bin";
  MustRun({"zstd", "-d", "-q", "-f", compressed, "-o", binary});
  // --defaults-json: schema_version 1 is the field's default, which FlatBuffers does not
  // store and flatc would not print otherwise. --raw-binary: read the file whatever its
  // extension. flatc names its output after the input: <stem>.json in -o.
  MustRun({"flatc", "--json", "--raw-binary", "--strict-json", "--defaults-json", "-o", work_dir,
           SourcePath("schema/tidegate_batch.fbs"), "--", binary});
  const std::string json = work_dir + "/" + Stem(compressed) + ".json";
  REQUIRE(FileSize(json).has_value());
  return ReadFile(json);
}

template <typename T>
T Get(element parent, const char* key) {
  T value{};
  INFO("field " << key);
  REQUIRE_FALSE(parent[key].get(value));
  return value;
}

TEST_CASE("a batch captured from the wire decodes with flatc and the public schema alone",
          "[integration]") {
  E2eStack stack("e2e-wire", {.keep_raw = true});
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", std::to_string(kEvents), "--rate", "1000", "--devices", "5",
                            "--seed", std::to_string(seed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(30));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  if (!stack.WaitForLanded(kEvents, seconds(30))) FAIL("not landed\n" << stack.Diagnostics());
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  std::unordered_map<std::string, const PublishedEvent*> by_id;
  for (const PublishedEvent& e : *published) by_id.emplace(e.msg_id, &e);

  const std::vector<std::string> files = RawBatchFiles(stack.RawDir());
  REQUIRE_FALSE(files.empty());
  const std::string work_dir = stack.dir().MakeDir("flatc");
  simdjson::dom::parser parser;
  size_t events_in_files = 0;
  std::set<std::string> batch_ids;
  for (const std::string& file : files) {
    INFO("batch file " << file);
    element batch;
    REQUIRE_FALSE(
        parser.parse(simdjson::padded_string(DecodeWithFlatc(file, work_dir))).get(batch));
    const std::string batch_id(Get<std::string_view>(batch, "batch_id"));
    CHECK(batch_id == Stem(file));  // the agent's ids are file-name safe: kept as they are
    batch_ids.insert(batch_id);
    CHECK(Get<std::string_view>(batch, "agent_id") == stack.options().agent_id);
    CHECK(Get<uint64_t>(batch, "schema_version") == 1);
    auto events = Get<simdjson::dom::array>(batch, "events");
    const auto first_seq = Get<uint64_t>(batch, "first_seq");
    const auto last_seq = Get<uint64_t>(batch, "last_seq");
    REQUIRE(events.size() > 0);
    CHECK(last_seq - first_seq + 1 == events.size());  // one priority: a contiguous range
    CHECK(Get<uint64_t>(events.at(0).value(), "seq") == first_seq);
    events_in_files += events.size();

    if (file != files.front()) continue;
    // One event in full, against what the simulator published.
    element event = events.at(events.size() / 2).value();
    Result<std::string> payload = CanonicalJson(Get<std::string_view>(event, "payload"));
    RequireOk(payload.status());
    element payload_doc;
    simdjson::dom::parser payload_parser;
    REQUIRE_FALSE(payload_parser.parse(simdjson::padded_string(*payload)).get(payload_doc));
    const std::string msg_id(Get<std::string_view>(payload_doc, "msg_id"));
    REQUIRE(by_id.count(msg_id) == 1);
    const PublishedEvent& sent = *by_id.at(msg_id);
    CHECK(Get<std::string_view>(event, "topic") == sent.topic);
    CHECK(Get<std::string_view>(event, "device_id") == sent.device_id);
    CHECK(Get<int64_t>(event, "event_time") == sent.ts_ms);
    CHECK(Get<int64_t>(event, "ingest_time") >= sent.ts_ms - 1000);
    CHECK(Get<uint64_t>(event, "flags") == 0);
    CHECK(*payload == sent.payload);

    // `tidegate inspect` on the compressed file as it came off the wire.
    CommandResult inspect = MustRun({BinaryPath("tidegate"), "inspect", file});
    simdjson::dom::parser inspect_parser;
    element decoded;
    REQUIRE_FALSE(inspect_parser.parse(simdjson::padded_string(inspect.stdout_text)).get(decoded));
    CHECK(Get<std::string_view>(decoded, "batch_id") == batch_id);
    CHECK(Get<std::string_view>(decoded, "agent_id") == stack.options().agent_id);
    CHECK(Get<uint64_t>(decoded, "schema_version") == 1);
    CHECK(Get<uint64_t>(decoded, "first_seq") == first_seq);
    CHECK(Get<uint64_t>(decoded, "last_seq") == last_seq);
    auto inspected = Get<simdjson::dom::array>(decoded, "events");
    REQUIRE(inspected.size() == last_seq - first_seq + 1);
    element same = inspected.at(events.size() / 2).value();
    CHECK(Get<std::string_view>(same, "event_time") == FormatRfc3339Ms(sent.ts_ms));
    CHECK(Get<std::string_view>(same, "topic") == sent.topic);
    Result<std::string> inspected_payload =
        CanonicalJson(simdjson::to_string(Get<element>(same, "payload")));
    RequireOk(inspected_payload.status());
    CHECK(*inspected_payload == sent.payload);
  }
  // Every landed event came in exactly one of the kept batches.
  CHECK(events_in_files == kEvents);
  CHECK(batch_ids.size() == files.size());
}

template <typename T>
T As(element e) {
  T value{};
  REQUIRE_FALSE(e.get(value));
  return value;
}

// One column value of row r as the payload writes it, from flatc's JSON of the Column.
std::string ColumnText(element column, size_t r) {
  const auto form = As<uint64_t>(Get<simdjson::dom::array>(column, "form").at(r).value());
  const std::string_view type = Get<std::string_view>(column, "type");
  if (type == "String") {
    std::string out = "\"";
    out += As<std::string_view>(Get<simdjson::dom::array>(column, "strings").at(r).value());
    return out + "\"";
  }
  if (type == "Integer" || type == "Timestamp") {
    REQUIRE(form == 1);
    return std::to_string(As<int64_t>(Get<simdjson::dom::array>(column, "longs").at(r).value()));
  }
  REQUIRE(type == "Number");
  const auto value = As<double>(Get<simdjson::dom::array>(column, "doubles").at(r).value());
  if (form >= 16) return fmt::format("{:.{}f}", value, form - 16);  // Fixed0 + digits
  REQUIRE(form == 1);
  return fmt::format("{}", value);
}

// The members of a remainder payload, each as "key":value, in order.
std::vector<std::string> RemainderMembers(element event) {
  simdjson::dom::parser parser;
  simdjson::dom::object remainder;
  REQUIRE_FALSE(parser.parse(simdjson::padded_string(Get<std::string_view>(event, "payload")))
                    .get(remainder));
  std::vector<std::string> members;
  for (simdjson::dom::key_value_pair m : remainder) {
    members.push_back("\"" + std::string(m.key) + "\":" + simdjson::minify(m.value));
  }
  return members;
}

// Row r of block reassembled from flatc's JSON alone: the remainder's members (event's
// payload) and the column values, in the order of the row's layout.
std::string PayloadFromFlatc(element event, element block, size_t r) {
  auto columns = Get<simdjson::dom::array>(block, "columns");
  auto layouts = Get<simdjson::dom::array>(block, "layouts");
  const auto layout = As<uint64_t>(Get<simdjson::dom::array>(block, "row_layout").at(r).value());
  const std::vector<std::string> members = RemainderMembers(event);
  size_t next = 0;
  std::string payload = "{";
  for (element slot : Get<simdjson::dom::array>(layouts.at(layout).value(), "slots")) {
    const auto k = As<uint64_t>(slot);
    if (payload.size() > 1) payload += ',';
    if (k == 0) {
      payload += next < members.size() ? members[next++] : "<missing member>";
      continue;
    }
    element column = columns.at(k - 1).value();
    payload += "\"" + std::string(Get<std::string_view>(column, "path").substr(1)) + "\":";
    payload += ColumnText(column, r);
  }
  CHECK(next == members.size());
  return payload + '}';
}

}  // namespace

TEST_CASE("a columnar batch from the wire decodes with flatc and the public schema alone",
          "[integration][schema]") {
  // The simulator's default events: the declared fields plus PII ones no schema declares.
  E2eStack stack("e2e-wire-columns",
                 {.keep_raw = true, .extra_agent_yaml = "schemas:\n" + ThermoSchemaEntry(1)});
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", "60", "--rate", "1000", "--devices", "3", "--seed",
                            std::to_string(seed)}),
            &stack);
  Result<int> sim_exit = stack.WaitSim(seconds(30));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  if (!stack.WaitForLanded(60, seconds(30))) FAIL("not landed\n" << stack.Diagnostics());
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  std::unordered_map<std::string, std::string> published_text;  // msg_id -> payload as sent
  for (const std::string& line : ReadLines(stack.PublishLogPath())) {
    const size_t at = line.find("\"payload\":");
    const std::string text = line.substr(at + 10, line.size() - at - 11);
    const size_t id = text.find("\"msg_id\":\"");
    published_text[text.substr(id + 10, 16)] = text;
  }

  const std::vector<std::string> files = RawBatchFiles(stack.RawDir());
  REQUIRE_FALSE(files.empty());
  const std::string work_dir = stack.dir().MakeDir("flatc");
  simdjson::dom::parser parser;
  size_t rows_checked = 0;
  for (const std::string& file : files) {
    INFO("batch file " << file);
    element batch;
    REQUIRE_FALSE(
        parser.parse(simdjson::padded_string(DecodeWithFlatc(file, work_dir))).get(batch));
    CHECK(Get<uint64_t>(batch, "schema_version") == 2);
    auto events = Get<simdjson::dom::array>(batch, "events");
    auto blocks = Get<simdjson::dom::array>(batch, "schema_blocks");
    REQUIRE(blocks.size() == 1);
    element block = blocks.at(0).value();
    CHECK(Get<std::string_view>(block, "name") == "thermo");
    CHECK(Get<int64_t>(block, "version") == 1);
    auto rows = Get<simdjson::dom::array>(block, "rows");
    REQUIRE(rows.size() == events.size());  // every event of the sim passed the schema
    for (size_t r = 0; r < rows.size(); ++r) {
      const std::string payload =
          PayloadFromFlatc(events.at(As<uint64_t>(rows.at(r).value())).value(), block, r);
      const size_t id = payload.find("\"msg_id\":\"");
      REQUIRE(id != std::string::npos);
      CHECK(payload == published_text[payload.substr(id + 10, 16)]);
      ++rows_checked;
    }
  }
  CHECK(rows_checked == 60);
}

}  // namespace tidegate::testing
