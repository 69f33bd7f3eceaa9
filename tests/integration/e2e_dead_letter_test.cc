// SPDX-License-Identifier: Apache-2.0
// Hostile and broken payloads end to end, real parts only: each becomes one dead letter
// (topic, reason, size; never the payload), is counted by reason in /metrics and in
// `tidegate buffer stats`, and neither stops the agent nor holds up the valid events around
// it. Event times RFC 3339 cannot write (outside years 0000-9999) are dead-lettered as
// event_time_out_of_range and never land. A topic that is not UTF-8 cannot be tested here:
// mosquitto refuses such a PUBLISH before it reaches any subscriber, so that reason
// (invalid_utf8_topic) is covered by filters/event_parser_test.cc.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kBadTopic[] = "devices/dev-bad/telemetry";
constexpr char kGoodTopic[] = "devices/dev-ok/telemetry";

struct DeadLetterRow {
  std::string topic;
  std::string reason;
  int64_t size = 0;
  bool operator==(const DeadLetterRow& o) const {
    return std::tie(topic, reason, size) == std::tie(o.topic, o.reason, o.size);
  }
};

std::ostream& operator<<(std::ostream& os, const DeadLetterRow& r) {
  return os << "{" << r.topic << ", " << r.reason << ", " << r.size << "}";
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

// Opens the agent's buffer read-only, as a second process would while the agent runs.
Db OpenReadOnly(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  Db owned(db);
  INFO(path << ": " << (db ? sqlite3_errmsg(db) : "out of memory"));
  REQUIRE(rc == SQLITE_OK);
  sqlite3_busy_timeout(db, 2000);
  return owned;
}

// Runs a query and returns every row as text columns.
std::vector<std::vector<std::string>> Query(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  INFO(sql << ": " << sqlite3_errmsg(db));
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  std::vector<std::vector<std::string>> rows;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(raw); ++i) {
      const unsigned char* text = sqlite3_column_text(raw, i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    rows.push_back(std::move(row));
  }
  REQUIRE(rc == SQLITE_DONE);
  return rows;
}

std::vector<DeadLetterRow> DeadLetters(const std::string& db_path) {
  Db db = OpenReadOnly(db_path);
  std::vector<DeadLetterRow> rows;
  for (const auto& row :
       Query(db.get(), "SELECT topic, reason, size FROM dead_letters ORDER BY id")) {
    rows.push_back({row[0], row[1], std::stoll(row[2])});
  }
  return rows;
}

// True if some line of text, split on blanks, is exactly `words`.
bool HasLine(const std::string& text, const std::vector<std::string>& words) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::vector<std::string> got;
    for (std::string word; in >> word;) got.push_back(word);
    if (got == words) return true;
  }
  return false;
}

// Publishes one message at QoS 1 from a file, byte for byte (mosquitto_pub -f), and waits
// for the broker's PUBACK (mosquitto_pub exits after it), so messages arrive in order.
void Publish(E2eStack& stack, const std::string& topic, const std::string& payload,
             const std::string& name) {
  const std::string file = stack.dir().File("payload-" + name);
  RequireOk(WriteFile(file, payload));
  Result<CommandResult> pub =
      RunCommand({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(stack.broker().port()),
                  "-i", "pub-" + name, "-q", "1", "-t", topic, "-f", file},
                 seconds(10));
  RequireOk(pub.status());
  INFO("mosquitto_pub " << name << ": " << pub->stderr_text);
  REQUIRE(pub->exit_code == 0);
}

TEST_CASE(
    "malformed, oversized, timeless, out-of-range and non-UTF-8 payloads become counted "
    "dead letters",
    "[integration][issue-10]") {
  E2eStack stack("e2e-dead-letters", {.max_payload_bytes = "1KiB"});
  RequireOk(stack.Start(), &stack);
  // A string no valid event carries: it must not reach the buffer's files or the logs.
  const std::string marker = "tgleak" + std::to_string(TestSeed()) + "x";
  const std::string now = std::to_string(RealClock().NowUnixMs());
  const std::string head = R"({"device_id":"dev-bad","secret":")" + marker + R"(")";

  struct Bad {
    std::string reason;
    std::string payload;
  };
  const std::vector<Bad> bad = {
      {"malformed_json", head + R"(,"ts":)" + now + R"(,"temp":21.5)"},  // no closing brace
      {"payload_too_large",
       head + R"(,"ts":)" + now + R"(,"pad":")" + std::string(1100, 'p') + R"("})"},
      {"missing_event_time", head + R"(,"temp":21.5})"},
      {"bad_event_time", head + R"(,"ts":"yesterday"})"},
      {"invalid_utf8_payload", head + R"(,"ts":)" + now + ",\"note\":\"caf\xc3\x28 \xff\xfe\"}"},
      // Issue 10: times RFC 3339 cannot write (year 318857, and before year 0000).
      {"event_time_out_of_range", head + R"(,"ts":9999999999999999,"temp":21.5})"},
      {"event_time_out_of_range", head + R"(,"ts":-62167219200001,"temp":21.5})"},
      // PostgreSQL text cannot hold U+0000: a collector would reject the batch for good.
      {"bad_device_id",
       R"({"device_id":"dev\u0000bad","secret":")" + marker + R"(","ts":)" + now + "}"},
  };
  std::map<std::string, int> per_reason;
  for (const Bad& b : bad) per_reason[b.reason]++;
  std::vector<DeadLetterRow> expected;
  auto publish_valid = [&](int n) {
    Publish(stack, kGoodTopic,
            R"({"device_id":"dev-ok","msg_id":"ok-)" + std::to_string(n) + R"(","ts":)" + now +
                R"(,"temp":21.5})",
            "ok-" + std::to_string(n));
  };
  publish_valid(0);
  for (size_t i = 0; i < bad.size(); ++i) {
    Publish(stack, kBadTopic, bad[i].payload, bad[i].reason + std::to_string(i));
    expected.push_back({kBadTopic, bad[i].reason, static_cast<int64_t>(bad[i].payload.size())});
    publish_valid(static_cast<int>(i) + 1);
  }
  CHECK(bad[1].payload.size() > 1024);

  const std::string db_path = stack.StateDir() + "/buffer.db";
  if (!stack.WaitForLanded(bad.size() + 1, seconds(20))) {
    FAIL("valid events did not land\n" << stack.Diagnostics());
  }
  REQUIRE(WaitUntil([&] { return DeadLetters(db_path).size() >= expected.size(); }, seconds(10)));
  CHECK(stack.AgentRunning());

  {  // the valid events around them landed, each once
    Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
    RequireOk(landed.status());
    std::multiset<std::string> ids, want_ids;
    for (const LandedEvent& e : *landed) {
      ids.insert(e.msg_id);
      CHECK_THAT(
          e.event_time,
          Catch::Matches("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
    }
    for (size_t i = 0; i <= bad.size(); ++i) want_ids.insert("ok-" + std::to_string(i));
    CHECK(ids == want_ids);
  }

  {  // one dead letter per reason with topic and size, and no payload column
    CHECK(DeadLetters(db_path) == expected);
    Db db = OpenReadOnly(db_path);
    std::set<std::string> columns;
    for (const auto& row : Query(db.get(), "SELECT name FROM pragma_table_info('dead_letters')")) {
      columns.insert(row[0]);
    }
    CHECK(columns == std::set<std::string>{"id", "time", "topic", "reason", "size", "detail"});
  }

  {  // no byte of a bad payload reaches the buffer's files, the logs or the receiver
    std::vector<std::string> files = {stack.AgentLogPath(), stack.dir().File("collector.log")};
    for (const auto& dir : {stack.StateDir(), stack.CollectorDataDir()}) {
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        files.push_back(entry.path().string());
      }
    }
    CHECK(FileSize(db_path + "-wal").has_value());  // the WAL is among the files searched
    for (const std::string& file : files) {
      INFO(file);
      CHECK(ReadFile(file).find(marker) == std::string::npos);
    }
  }

  {  // /metrics counts each reason once
    Result<std::string> page = stack.Metrics();
    RequireOk(page.status());
    for (const auto& [reason, count] : per_reason) {
      INFO(reason);
      CHECK(MetricValue(*page, "tidegate_dropped_total{reason=\"" + reason + "\"}") == count);
    }
    for (const char* other : {"not_an_object", "too_deep", "missing_device_id"}) {
      INFO(other);
      CHECK(MetricValue(*page, std::string("tidegate_dropped_total{reason=\"") + other + "\"}") ==
            0.0);
    }
    CHECK(MetricValue(*page, "tidegate_dead_letters") == static_cast<double>(bad.size()));
    CHECK(MetricValue(*page, "tidegate_ingested_total") == static_cast<double>(bad.size() + 1));
  }

  {  // tidegate buffer stats reports them by reason
    Result<CommandResult> stats =
        stack.RunTidegate({"buffer", "stats", "-c", stack.AgentConfigPath()});
    RequireOk(stats.status());
    INFO(stats->stdout_text << stats->stderr_text);
    CHECK(stats->exit_code == 0);
    CHECK(HasLine(stats->stdout_text, {"dead", "letters:", std::to_string(bad.size())}));
    for (const auto& [reason, count] : per_reason) {
      INFO(reason);
      CHECK(
          HasLine(stats->stdout_text, {"counter", "dead_letter." + reason, std::to_string(count)}));
    }
  }
}

}  // namespace
}  // namespace tidegate::testing
