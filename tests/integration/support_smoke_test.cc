// SPDX-License-Identifier: Apache-2.0
// Smoke tests of tests/support against the real tools it drives: openssl, mosquitto and its
// clients, and plain child processes. If these fail, every other integration test would.
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/certs.h"
#include "tests/support/files.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/net.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void RequireOk(const Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

CommandResult MustRun(const std::vector<std::string>& argv, milliseconds timeout = seconds(30)) {
  Result<CommandResult> run = RunCommand(argv, timeout);
  RequireOk(run.status());
  return *run;
}

// mosquitto_pub / mosquitto_sub against the broker's plain listener.
std::vector<std::string> MqttTool(const MosquittoBroker& broker, const std::string& tool,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv = {tool, "-h", "127.0.0.1", "-p", std::to_string(broker.port())};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

int FileMode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

bool Reaped(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD; }

// Gone, or a zombie of someone else (PID 1 in a container may never reap orphans).
bool ProcessGone(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::size_t paren = stat.rfind(')');
  return stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z");
}

TEST_CASE("MakeTestCerts makes a chain openssl verifies and an untrusted one it rejects",
          "[integration]") {
  TempDir dir("certs");
  Result<TestCerts> certs = MakeTestCerts(dir.path());
  RequireOk(certs.status());

  const std::string& ca = certs->ca_cert;
  CHECK(MustRun({"openssl", "verify", "-CAfile", ca, "-purpose", "sslserver", certs->server_cert})
            .exit_code == 0);
  CHECK(MustRun({"openssl", "verify", "-CAfile", ca, "-purpose", "sslclient", certs->client_cert})
            .exit_code == 0);
  CHECK(MustRun({"openssl", "verify", "-CAfile", ca, certs->untrusted_server_cert}).exit_code != 0);
  CHECK(MustRun({"openssl", "verify", "-CAfile", ca, certs->untrusted_client_cert}).exit_code != 0);
  CHECK(MustRun({"openssl", "verify", "-CAfile", certs->untrusted_ca_cert,
                 certs->untrusted_server_cert})
            .exit_code == 0);

  CommandResult text =
      MustRun({"openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", certs->server_cert});
  CHECK_THAT(text.stdout_text,
             Catch::Contains("DNS:localhost") && Catch::Contains("IP Address:127.0.0.1"));
  for (const std::string& key : {certs->ca_key, certs->server_key, certs->client_key,
                                 certs->untrusted_server_key, certs->untrusted_client_key}) {
    CHECK(FileMode(key) == 0600);
  }
}

TEST_CASE("MosquittoBroker delivers a QoS 1 message from mosquitto_pub to mosquitto_sub",
          "[integration]") {
  TempDir dir("broker");
  MosquittoBroker broker;
  RequireOk(broker.Start(dir.path(), {.extra_config = "log_type subscribe"}));
  REQUIRE(broker.port() > 0);
  CHECK(TcpPortAcceptsConnections(broker.port()));

  Process sub;
  const std::string received = dir.File("received.txt");
  RequireOk(
      sub.Start(MqttTool(broker, "mosquitto_sub",
                         {"-i", "smoke-sub", "-t", "smoke/qos1", "-q", "1", "-C", "1", "-W", "5"}),
                {.stdout_file = received, .stderr_file = dir.File("sub.err")}));
  // The subscription must exist before the publish, or a QoS 1 message has nowhere to go.
  REQUIRE(WaitUntil(
      [&] {
        return ReadFile(broker.LogPath()).find("smoke-sub 1 smoke/qos1") != std::string::npos;
      },
      seconds(5)));

  CHECK(MustRun(MqttTool(broker, "mosquitto_pub", {"-t", "smoke/qos1", "-q", "1", "-m", "hello"}))
            .exit_code == 0);
  CHECK(sub.Wait(seconds(10)) == 0);
  CHECK(ReadFile(received) == "hello\n");
}

TEST_CASE("MosquittoBroker Restart keeps a persistent session's queued QoS 1 message",
          "[integration]") {
  TempDir dir("broker-restart");
  MosquittoBroker broker;
  RequireOk(broker.Start(dir.path()));
  const int port = broker.port();
  const std::vector<std::string> session = {"-i", "smoke-persistent", "-c", "-q", "1",
                                            "-t", "smoke/persist"};

  std::vector<std::string> subscribe_and_leave = session;
  subscribe_and_leave.emplace_back("-E");  // exit once the subscription is acknowledged
  REQUIRE(MustRun(MqttTool(broker, "mosquitto_sub", subscribe_and_leave)).exit_code == 0);
  REQUIRE(MustRun(MqttTool(broker, "mosquitto_pub",
                           {"-t", "smoke/persist", "-q", "1", "-m", "kept across restart"}))
              .exit_code == 0);

  RequireOk(broker.Restart());
  CHECK(broker.port() == port);
  CHECK(FileSize(dir.File("mosquitto.db")).value_or(0) > 0);

  std::vector<std::string> resume = session;
  resume.insert(resume.end(), {"-C", "1", "-W", "5"});
  CommandResult got = MustRun(MqttTool(broker, "mosquitto_sub", resume));
  INFO(broker.LogTail());
  CHECK(got.exit_code == 0);
  CHECK(got.stdout_text == "kept across restart\n");
}

TEST_CASE("MosquittoBroker restarts on the same port after Kill", "[integration]") {
  TempDir dir("broker-kill");
  MosquittoBroker broker;
  RequireOk(broker.Start(dir.path()));
  const int port = broker.port();
  broker.Kill();
  CHECK_FALSE(broker.Running());
  CHECK_FALSE(TcpPortAcceptsConnections(port));

  RequireOk(broker.Restart());
  CHECK(broker.port() == port);
  CHECK(MustRun(MqttTool(broker, "mosquitto_pub", {"-t", "smoke/kill", "-q", "1", "-m", "x"}))
            .exit_code == 0);
  RequireOk(broker.Stop());
  CHECK_FALSE(broker.Running());
}

TEST_CASE("MosquittoBroker TLS listener trusts the test CA and requires a client certificate",
          "[integration]") {
  TempDir dir("broker-tls");
  Result<TestCerts> certs = MakeTestCerts(dir.MakeDir("certs"));
  RequireOk(certs.status());
  MosquittoBroker broker;
  RequireOk(broker.Start(dir.MakeDir("broker"), {.tls_cert_file = certs->server_cert,
                                                 .tls_key_file = certs->server_key,
                                                 .tls_ca_file = certs->ca_cert,
                                                 .tls_require_client_cert = true}));
  REQUIRE(broker.tls_port() > 0);
  auto publish = [&](const std::string& ca, const std::string& cert, const std::string& key) {
    std::vector<std::string> argv = {"mosquitto_pub",
                                     "-h",
                                     "localhost",
                                     "-p",
                                     std::to_string(broker.tls_port()),
                                     "--cafile",
                                     ca,
                                     "-t",
                                     "smoke/tls",
                                     "-m",
                                     "x"};
    if (!cert.empty()) argv.insert(argv.end(), {"--cert", cert, "--key", key});
    return MustRun(argv).exit_code;
  };

  CHECK(publish(certs->ca_cert, certs->client_cert, certs->client_key) == 0);
  CHECK(publish(certs->ca_cert, "", "") != 0);
  CHECK(publish(certs->untrusted_ca_cert, certs->client_cert, certs->client_key) != 0);
  CHECK(publish(certs->ca_cert, certs->untrusted_client_cert, certs->untrusted_client_key) != 0);
}

TEST_CASE("Process Kill reaps the child and ends its process group", "[integration]") {
  TempDir dir("process");
  const std::string grandchild_pid_file = dir.File("grandchild.pid");
  Process process;
  RequireOk(process.Start({"sh", "-c", "sleep 60 & echo $! > " + grandchild_pid_file + "; wait"}));
  const pid_t pid = process.pid();
  REQUIRE(process.Running());
  REQUIRE(WaitUntil([&] { return ReadFile(grandchild_pid_file).find('\n') != std::string::npos; },
                    seconds(5)));
  const pid_t grandchild = std::stoi(ReadFile(grandchild_pid_file));

  CHECK(process.Kill() == 128 + SIGKILL);
  CHECK_FALSE(process.Running());
  CHECK(Reaped(pid));
  CHECK(WaitUntil([&] { return ProcessGone(grandchild); }, seconds(5)));
}

TEST_CASE("Process destructor kills and reaps a child a test left running", "[integration]") {
  pid_t pid = -1;
  {
    Process process;
    RequireOk(process.Start({"sleep", "60"}));
    pid = process.pid();
  }
  CHECK(Reaped(pid));
  CHECK(ProcessGone(pid));
}

TEST_CASE("Process Terminate reports death by SIGTERM of a child without a handler",
          "[integration]") {
  Process process;
  RequireOk(process.Start({"sleep", "60"}));
  CHECK(process.Terminate(seconds(5)) == 128 + SIGTERM);
}

TEST_CASE("Process Terminate returns the exit code of a child that handles SIGTERM",
          "[integration]") {
  TempDir dir("terminate");
  Process process;
  RequireOk(
      process.Start({"sh", "-c", "trap 'exit 7' TERM; touch ready; while :; do sleep 0.02; done"},
                    {.cwd = dir.path()}));
  REQUIRE(WaitUntil([&] { return FileSize(dir.File("ready")).has_value(); }, seconds(5)));
  CHECK(process.Terminate(seconds(5)) == 7);
}

TEST_CASE("Process Terminate kills a child that ignores SIGTERM after the timeout",
          "[integration]") {
  TempDir dir("terminate");
  Process process;
  RequireOk(process.Start({"sh", "-c", "trap '' TERM; touch ready; while :; do sleep 1; done"},
                          {.cwd = dir.path()}));
  REQUIRE(WaitUntil([&] { return FileSize(dir.File("ready")).has_value(); }, seconds(5)));
  CHECK(process.Terminate(milliseconds(200)) == 128 + SIGKILL);
}

TEST_CASE("Process writes output files and passes env and cwd", "[integration]") {
  TempDir dir("process-io");
  Process process;
  RequireOk(process.Start({"sh", "-c", "echo \"$TG_SMOKE\"; pwd; echo oops >&2; exit 3"},
                          {.stdout_file = dir.File("out.log"),
                           .stderr_file = dir.File("err.log"),
                           .env = {{"TG_SMOKE", "from env"}},
                           .cwd = dir.path()}));
  CHECK(process.Wait(seconds(10)) == 3);
  CHECK(ReadLines(dir.File("out.log")) == std::vector<std::string>{"from env", dir.path()});
  CHECK(ReadFile(dir.File("err.log")) == "oops\n");
}

TEST_CASE("RunCommand captures output, exit code and timeouts", "[integration]") {
  CommandResult run = MustRun({"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(run.exit_code == 3);
  CHECK(run.stdout_text == "out\n");
  CHECK(run.stderr_text == "err\n");

  Result<CommandResult> slow = RunCommand({"sleep", "30"}, milliseconds(200));
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.status().code() == StatusCode::kUnavailable);

  Result<CommandResult> missing = RunCommand({"tidegate-no-such-program"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
}

TEST_CASE("TempDir is removed with its contents and paths point into the build", "[integration]") {
  std::string path;
  {
    TempDir dir("remove-me");
    path = dir.path();
    RequireOk(WriteFile(dir.File("key"), "secret", 0600));
    dir.MakeDir("nested/deeper");
    RequireOk(WriteFile(dir.File("nested/deeper/file"), "x"));
    CHECK(FileMode(dir.File("key")) == 0600);
    CHECK(ReadFile(dir.File("missing")).empty());
    CHECK_FALSE(FileSize(dir.File("missing")).has_value());
  }
  if (std::getenv("TIDEGATE_KEEP_TEST_DIRS") == nullptr) {  // NOLINT(concurrency-mt-unsafe)
    CHECK_FALSE(std::filesystem::exists(path));
  }
  CHECK(std::filesystem::exists(SourcePath("CMakeLists.txt")));
  CHECK(BinaryPath("tidegate") == std::string(TG_BINARY_DIR) + "/bin/tidegate");
  CHECK(FreeTcpPort() > 0);
}

}  // namespace
}  // namespace tidegate::testing
