// SPDX-License-Identifier: Apache-2.0
// End to end with the collector landing into PostgreSQL (tests/support/postgres_server.h):
// the real agent, broker, simulator and `tidegate-collector serve --store postgresql://...`
// over TLS. A collector that dies after landing a batch but before acknowledging it makes
// the agent resend a batch that is already landed: it must land nothing new. Two
// collectors on one database (the agent moved from one to the other) land every event once.
// Payload schemas: the simulator's events land in a typed table per schema, migrated when
// a version that adds a field arrives mid-run; a version that removes one is rejected by the
// collector and dead-lettered by the agent, landing nothing.
// Simulator seeds: TestSeed() (printed).
#include <libpq-fe.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

std::string PostgresUrl() {
  Result<std::string> url = FreshPostgresDatabase();
  INFO(url.status().ToString());
  REQUIRE(url.ok());
  return *url;
}

// A counter of the landing store, read straight from the database.
int64_t Counter(const std::string& url, const std::string& name) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  const char* params[] = {name.c_str()};
  PGresult* res = PQexecParams(conn.get(), "SELECT value FROM counters WHERE name = $1", 1, nullptr,
                               params, nullptr, nullptr, 0);
  int64_t value = (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
                      ? std::stoll(PQgetvalue(res, 0, 0))
                      : 0;
  PQclear(res);
  return value;
}

// Every row of a query, columns joined with '|' (NULL as "-").
std::vector<std::string> Rows(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  INFO(sql << ": " << PQerrorMessage(conn.get()));
  REQUIRE(PQresultStatus(res.get()) == PGRES_TUPLES_OK);
  std::vector<std::string> out;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    std::string line;
    for (int c = 0; c < PQnfields(res.get()); ++c) {
      if (c > 0) line += '|';
      line += PQgetisnull(res.get(), r, c) ? "-" : PQgetvalue(res.get(), r, c);
    }
    out.push_back(line);
  }
  return out;
}

constexpr char kThermoV2Extra[] = R"(      /rssi: {type: integer}
)";

DeliveryReport FinishAndCompare(E2eStack& stack, size_t expected) {
  Result<int> sim_exit = stack.WaitSim(seconds(60));
  RequireOk(sim_exit.status(), &stack);
  REQUIRE(*sim_exit == 0);
  Result<std::vector<PublishedEvent>> published = ReadPublishLog(stack.PublishLogPath());
  RequireOk(published.status());
  REQUIRE(published->size() == expected);
  if (!stack.WaitForLanded(expected, seconds(60))) {
    FAIL("not all landed\n" << stack.Diagnostics());
  }
  if (!stack.WaitForDrained(seconds(30))) FAIL("buffer not drained\n" << stack.Diagnostics());
  Result<std::vector<LandedEvent>> landed = stack.DumpEvents();
  RequireOk(landed.status());
  return CompareByMsgId(*published, *landed);
}

TEST_CASE(
    "a collector killed between landing into PostgreSQL and acknowledging, the "
    "agent's retry lands nothing new",
    "[integration][postgres]") {
  const std::string url = PostgresUrl();
  E2eStack stack("e2e-pg-exit-after-land",
                 StackOptions{.collector_store = url,
                              .collector_env = {{"TIDEGATE_TEST_EXIT_AFTER_LAND", "1"}}});
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", "2000", "--rate", "2000", "--devices", "20", "--seed",
                            std::to_string(seed)}),
            &stack);
  // The first batch lands, then the collector is gone before it answers.
  std::optional<int> exit = stack.WaitCollectorExit(seconds(30));
  REQUIRE(exit.has_value());
  CHECK(*exit == 75);
  CHECK(Counter(url, "batches_landed") == 1);
  CHECK(Counter(url, "batches_duplicate") == 0);
  stack.mutable_options().collector_env.clear();
  RequireOk(stack.StartCollector(), &stack);

  DeliveryReport report = FinishAndCompare(stack, 2000);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  // The unacknowledged batch came again and was answered as a duplicate.
  CHECK(Counter(url, "batches_duplicate") >= 1);
  CHECK(Counter(url, "events") == 2000);
}

TEST_CASE(
    "an agent moved from one collector to another on one PostgreSQL database lands "
    "every event once",
    "[integration][postgres]") {
  const std::string url = PostgresUrl();
  E2eStack stack("e2e-pg-two-collectors", StackOptions{.collector_store = url});
  RequireOk(stack.Start(), &stack);
  // The second collector, same database, its own port.
  const std::string ready = stack.dir().File("collector2.ready");
  Process second;
  RequireOk(second.Start({BinaryPath("tidegate-collector"), "serve", "--listen", "127.0.0.1:0",
                          "--store", url, "--tls-cert", stack.certs().server_cert, "--tls-key",
                          stack.certs().server_key, "--ready-file", ready},
                         {.stdout_file = stack.dir().File("collector2.log"),
                          .stderr_file = stack.dir().File("collector2.log")}));
  REQUIRE(WaitUntil([&] { return ReadFile(ready).find('\n') != std::string::npos; }, seconds(15)));
  const std::string port2 = ReadFile(ready).substr(0, ReadFile(ready).find('\n'));

  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  RequireOk(stack.StartSim({"--count", "4000", "--rate", "2000", "--devices", "20", "--seed",
                            std::to_string(seed)}),
            &stack);
  if (!WaitUntil([&] { return Counter(url, "events") >= 500; }, seconds(30))) {
    FAIL("nothing landed through the first collector\n" << stack.Diagnostics());
  }
  // Moved mid-stream with a clean stop (a SIGKILL may lose what libmosquitto acknowledged
  // but the agent had not committed yet, see e2e_chaos_kill_test.cc); what it had not sent
  // goes to the other collector, and the broker queues for it meanwhile.
  RequireOk(stack.StopAgent(), &stack);
  stack.mutable_options().uplink_url = "https://localhost:" + port2 + "/v1/batches";
  RequireOk(stack.RewriteAgentConfig(), &stack);
  RequireOk(stack.StartAgent(), &stack);

  DeliveryReport report = FinishAndCompare(stack, 4000);
  INFO(report.ToString());
  CHECK(report.ExactlyOnce());
  CHECK(Counter(url, "events") == 4000);
  CHECK(second.Terminate(seconds(10)) == 0);
}

TEST_CASE("schema events land in a typed PostgreSQL table that migrates as versions arrive",
          "[integration][postgres][schema]") {
  const std::string url = PostgresUrl();
  const std::string v1 = "schemas:\n" + ThermoSchemaEntry(1);
  E2eStack stack("e2e-pg-schemas", StackOptions{.extra_agent_yaml = v1, .collector_store = url});
  RequireOk(stack.Start(), &stack);
  const uint64_t seed = TestSeed();
  INFO("simulator seed " << seed);
  auto run_sim = [&](uint64_t sim_seed, size_t landed_after) {
    RequireOk(stack.StartSim({"--count", "200", "--rate", "1000", "--devices", "4", "--seed",
                              std::to_string(sim_seed)}),
              &stack);
    Result<int> sim_exit = stack.WaitSim(seconds(30));
    RequireOk(sim_exit.status(), &stack);
    REQUIRE(*sim_exit == 0);
    if (!stack.WaitForLanded(landed_after, seconds(30))) FAIL(stack.Diagnostics());
    REQUIRE(stack.WaitForDrained(seconds(30)));
  };
  run_sim(seed, 200);
  const std::string types =
      "SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE"
      " table_schema = 'tidegate_payload' AND table_name = 'thermo' AND column_name NOT LIKE"
      " 'tg\\_%' ORDER BY column_name";
  CHECK(Rows(url, types) == std::vector<std::string>{"battery bigint", "device_id text",
                                                     "humidity double precision", "msg_id text",
                                                     "seq bigint", "temp double precision",
                                                     "ts timestamp with time zone"});
  // The typed row of an event holds what its landed payload says.
  CHECK(Rows(url,
             "SELECT count(*) FROM tidegate_payload.thermo t JOIN events e ON"
             " e.agent_id = t.tg_agent_id AND e.seq = t.tg_seq WHERE e.payload LIKE"
             " '%\"msg_id\":\"' || t.msg_id || '\"%' AND (e.payload::json->>'temp')::float8 ="
             " t.temp AND (e.payload::json->>'battery')::bigint = t.battery AND"
             " (e.payload::json->>'ts')::bigint = extract(epoch FROM t.ts) * 1000") ==
        std::vector<std::string>{"200"});

  // Mid-run, the agent gets version 2 beside version 1 (a restart applies schemas).
  RequireOk(stack.StopAgent(), &stack);
  stack.mutable_options().extra_agent_yaml = v1 + ThermoSchemaEntry(2, kThermoV2Extra);
  RequireOk(stack.RewriteAgentConfig(), &stack);
  RequireOk(stack.StartAgent(), &stack);
  run_sim(seed + 1, 400);
  CHECK(Rows(url, types).size() == 8);
  CHECK(Rows(url, types)[4] == "rssi bigint");
  CHECK(Rows(url,
             "SELECT tg_schema_version, count(*), count(rssi) FROM tidegate_payload.thermo"
             " GROUP BY 1 ORDER BY 1") == std::vector<std::string>{"1|200|0", "2|200|0"});
  CHECK(Rows(url, "SELECT name, version FROM payload_schemas ORDER BY version") ==
        std::vector<std::string>{"thermo|1", "thermo|2"});

  // Version 3 drops /battery: the collector refuses it, the agent dead-letters the batches.
  RequireOk(stack.StopAgent(), &stack);
  std::string v3 = "schemas:\n" + ThermoSchemaEntry(3);
  v3.erase(v3.find("      /battery"));
  stack.mutable_options().extra_agent_yaml = v3;
  RequireOk(stack.RewriteAgentConfig(), &stack);
  RequireOk(stack.StartAgent(), &stack);
  RequireOk(stack.StartSim({"--count", "50", "--rate", "1000", "--devices", "4", "--seed",
                            std::to_string(seed + 2)}),
            &stack);
  REQUIRE(*stack.WaitSim(seconds(30)) == 0);
  REQUIRE(WaitUntil([&] { return stack.Metric("tidegate_batches_rejected_total") >= 1.0; },
                    seconds(30)));
  REQUIRE(stack.WaitForDrained(seconds(30)));
  CHECK(Counter(url, "events") == 400);
  CHECK(Rows(url, "SELECT count(*) FROM tidegate_payload.thermo") ==
        std::vector<std::string>{"400"});
  CHECK(Rows(url, "SELECT count(*) FROM payload_schemas") == std::vector<std::string>{"2"});
}

}  // namespace
}  // namespace tidegate::testing
