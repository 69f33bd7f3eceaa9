// SPDX-License-Identifier: Apache-2.0
// The privacy promise end to end, real parts only: events carrying unique canary values in
// every rule kind (tokenize, encrypt, mask, drop, scrub) and a malformed payload carrying
// one are published through a real broker; afterwards no canary appears in the agent's
// SQLite database, its -wal and -shm files (read while the agent runs and after it stops),
// the dead-letter table (part of the database), the agent's debug-level log, its metrics
// page, or any batch as received on the wire (decompressed); every line of that log is
// strict logfmt. The same scan is then shown to catch a leak when the tokenize rule is
// removed, so it can fail. The encrypted field is also opened by the real collector with
// --recipient-key (the sealed-box round trip).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "schema/batch_view.h"
#include "tests/integration/e2e_fixture.h"
#include "tests/support/files.h"
#include "tests/support/logfmt_parser.h"
#include "tests/support/process.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

struct Canaries {
  std::string email, phone, ip, dropped, scrubbed, dead_letter;
  std::vector<std::string> All() const {
    return {email, phone, ip, dropped, scrubbed, dead_letter};
  }
};

Canaries MakeCanaries(uint64_t seed) {
  std::string n = std::to_string(seed % 1'000'000);
  std::string d4 = std::to_string(1000 + seed % 9000);
  return Canaries{.email = "canary.tok." + n + "@example.com",
                  .phone = "+44 20 7946 " + d4,
                  .ip = "10.77." + std::to_string(seed % 200 + 1) + ".199",
                  .dropped = "canary-drop-" + n,
                  .scrubbed = "canary.scrub." + n + "@example.org",
                  .dead_letter = "canary-deadletter-" + n};
}

std::string PrivacyYaml(const std::string& keys, bool with_tokenize) {
  std::string yaml = "privacy:\n  key_file: " + keys + "/token.keys\n" +
                     "  recipient_public_key: " + keys + "/recipient.pub\n" +
                     "  rules:\n    - match: devices/+/telemetry\n";
  if (with_tokenize) yaml += "      tokenize: [/user/email]\n";
  yaml +=
      "      encrypt: [/user/phone]\n"
      "      mask: {/ip: ipv4_prefix_24}\n"
      "      drop: [/secret]\n"
      "      scrub: [/note]\n";
  return yaml;
}

std::string Payload(const Canaries& c, int i) {
  return R"({"device_id":"dev-1","msg_id":"m)" + std::to_string(i) +
         R"(","ts":1764000000000,"user":{"email":")" + c.email + R"(","phone":")" + c.phone +
         R"("},"ip":")" + c.ip + R"(","secret":")" + c.dropped + R"(","note":"write to )" +
         c.scrubbed + R"( please"})";
}

void Publish(E2eStack& stack, const std::string& payload) {
  auto r =
      RunCommand({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(stack.broker().port()),
                  "-q", "1", "-t", "devices/dev-1/telemetry", "-m", payload},
                 milliseconds(10'000));
  REQUIRE(r.ok());
  REQUIRE(r->exit_code == 0);
}

// Every place a raw value could end up, as text, with a name for messages.
std::vector<std::pair<std::string, std::string>> Places(E2eStack& stack) {
  std::vector<std::pair<std::string, std::string>> places;
  for (const char* f : {"buffer.db", "buffer.db-wal", "buffer.db-shm"}) {
    std::string path = stack.StateDir() + "/" + f;
    if (fs::exists(path)) places.emplace_back(path, ReadFile(path));
  }
  places.emplace_back("agent log (debug)", ReadFile(stack.AgentLogPath()));
  if (auto metrics = stack.Metrics(); metrics.ok()) places.emplace_back("/metrics", *metrics);
  for (const auto& entry : fs::directory_iterator(stack.RawDir())) {
    auto raw = schema::DecompressBatch(ReadFile(entry.path().string()), 64 << 20);
    REQUIRE(raw.ok());
    places.emplace_back("wire batch " + entry.path().filename().string(), *raw);
  }
  return places;
}

std::vector<std::string> Leaks(E2eStack& stack, const Canaries& canaries) {
  std::vector<std::string> leaks;
  for (const auto& [where, text] : Places(stack)) {
    for (const std::string& canary : canaries.All()) {
      if (text.find(canary) != std::string::npos)
        leaks.emplace_back(canary).append(" in ").append(where);
    }
  }
  return leaks;
}

// Runs the stack with the given rules and returns the leaks found and the landed payload.
std::vector<std::string> RunLeakScenario(bool with_tokenize, const Canaries& canaries,
                                         std::string* landed_payload) {
  E2eStack stack(with_tokenize ? "leak" : "leak-norule");
  std::string keys = stack.dir().File("keys");
  auto init = stack.RunTidegate({"keys", "init", "--dir", keys});
  REQUIRE(init.ok());
  REQUIRE(init->exit_code == 0);
  StackOptions& options = stack.mutable_options();
  options.keep_raw = true;
  options.log_level = "debug";
  options.extra_agent_yaml = PrivacyYaml(keys, with_tokenize);
  options.collector_args = {"--recipient-key", keys + "/recipient.key"};
  RequireOk(stack.Start(), &stack);
  constexpr int kEvents = 20;
  for (int i = 0; i < kEvents; ++i) Publish(stack, Payload(canaries, i));
  Publish(stack, R"({"broken": ")" + canaries.dead_letter + "\"");  // malformed: dead letter
  REQUIRE(stack.WaitForLanded(kEvents, milliseconds(30'000)));
  REQUIRE(stack.WaitForDrained(milliseconds(30'000)));
  CHECK(stack.Metric("tidegate_dropped_total{reason=\"malformed_json\"}") == 1.0);
  std::vector<std::string> leaks = Leaks(stack, canaries);  // while running: WAL in use
  RequireOk(stack.StopAgent(), &stack);
  for (auto& leak : Leaks(stack, canaries)) leaks.push_back(leak + " (after stop)");
  for (const std::string& line : ReadLines(stack.AgentLogPath())) {
    INFO("agent log line: " << line);
    CHECK(ParseLogfmtLine(line).has_value());  // structured even around hostile payloads
  }
  auto landed = stack.DumpEvents();
  REQUIRE(landed.ok());
  REQUIRE(landed->size() == kEvents);
  *landed_payload = landed->front().payload;
  return leaks;
}

}  // namespace

TEST_CASE("no raw personal value reaches disk, logs, metrics or the wire",
          "[integration][privacy]") {
  Canaries canaries = MakeCanaries(TestSeed());
  std::string payload;
  std::vector<std::string> leaks = RunLeakScenario(true, canaries, &payload);
  INFO("leaks: " << leaks.size());
  for (const auto& leak : leaks) UNSCOPED_INFO(leak);
  CHECK(leaks.empty());
  // Not vacuous: the fields are there, filtered, and the collector opened the sealed one.
  CHECK(payload.find("tok:k1:") != std::string::npos);
  CHECK(payload.find(canaries.phone) != std::string::npos);  // decrypted at the receiver
  CHECK(payload.find("/24") != std::string::npos);
  CHECK(payload.find("secret") == std::string::npos);
}

TEST_CASE("the leak scan catches a leak when a rule is removed", "[integration][privacy]") {
  Canaries canaries = MakeCanaries(TestSeed() + 1);
  std::string payload;
  std::vector<std::string> leaks = RunLeakScenario(false, canaries, &payload);
  bool email_leaked = false;
  for (const auto& leak : leaks) email_leaked |= leak.find(canaries.email) == 0;
  CHECK(email_leaked);
  for (const auto& leak : leaks) CHECK(leak.find(canaries.email) == 0);  // and only it
}

}  // namespace tidegate::testing
