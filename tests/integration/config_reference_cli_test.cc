// SPDX-License-Identifier: Apache-2.0
// Issue 11 through the real binary: `tidegate config reference` prints the checked-in
// docs/config-reference.md, `--help` points to it, a typo gets a suggestion, an unreadable
// config names the errno text, and a broker password file others can read is refused with
// its mode (exit 2) while a private one passes.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/e2e_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace tidegate::testing {
namespace {

using std::chrono::seconds;

CommandResult Run(const std::vector<std::string>& argv) {
  Result<CommandResult> run = RunCommand(argv, seconds(30));
  RequireOk(run.status());
  return *run;
}

std::string Config(const std::string& state_dir, const std::string& mqtt_extra) {
  return "agent:\n"
         "  id: gw-ref\n"
         "  state_dir: " +
         state_dir +
         "\n"
         "source:\n"
         "  mqtt:\n" +
         mqtt_extra +
         "    topics:\n"
         "      - {filter: devices/+/telemetry, qos: 1}\n"
         "uplink:\n"
         "  url: https://localhost:8443/v1/batches\n";
}

TEST_CASE("tidegate config reference prints docs/config-reference.md", "[integration][issue-11]") {
  CommandResult reference = Run({BinaryPath("tidegate"), "config", "reference"});
  CHECK(reference.exit_code == 0);
  CHECK(reference.stdout_text == ReadFile(SourcePath("docs/config-reference.md")));
  CHECK_THAT(reference.stdout_text, Catch::Contains("`source.mqtt.credentials.password_file`"));

  CommandResult help = Run({BinaryPath("tidegate"), "--help"});
  CHECK_THAT(help.stdout_text, Catch::Contains("tidegate config reference"));
  CHECK_THAT(help.stdout_text, !Catch::Contains("SPEC"));
}

TEST_CASE("tidegate config check suggests the key a typo meant and names errno texts",
          "[integration][issue-11]") {
  TempDir dir("cli-config-ref");
  const std::string file = dir.File("typo.yaml");
  RequireOk(WriteFile(file, Config(dir.File("state"), "    tsl: {ca_file: /etc/ca.pem}\n")));
  CommandResult typo = Run({BinaryPath("tidegate"), "config", "check", file});
  CHECK(typo.exit_code == 2);
  CHECK(typo.stderr_text == file + ":6: source.mqtt.tsl: unknown key (did you mean 'tls'?)\n");

  const std::string missing = dir.File("missing.yaml");
  CommandResult absent = Run({BinaryPath("tidegate"), "config", "check", missing});
  CHECK(absent.exit_code == 1);
  CHECK(absent.stderr_text ==
        "cannot read config file " + missing + ": No such file or directory\n");
}

TEST_CASE("a broker password file must be private", "[integration][issue-11]") {
  TempDir dir("cli-password-file");
  const std::string secret = dir.File("mqtt.password");
  const std::string file = dir.File("tidegate.yaml");
  RequireOk(WriteFile(file, Config(dir.File("state"),
                                   "    credentials:\n"
                                   "      username: gw\n"
                                   "      password_file: " +
                                       secret + "\n")));
  RequireOk(WriteFile(secret, "s3cret\n", 0640));
  CommandResult open = Run({BinaryPath("tidegate"), "config", "check", file});
  CHECK(open.exit_code == 2);
  CHECK(open.stderr_text == file + ": source.mqtt.credentials.password_file: " + secret +
                                " has mode 0640; it must be 0600 or stricter (chmod 600 " + secret +
                                ")\n");
  CHECK_THAT(open.stderr_text + open.stdout_text, !Catch::Contains("s3cret"));

  RequireOk(WriteFile(secret, "s3cret\n", 0600));
  CommandResult closed = Run({BinaryPath("tidegate"), "config", "check", file});
  CHECK(closed.exit_code == 0);
  CHECK_THAT(closed.stdout_text + closed.stderr_text, !Catch::Contains("s3cret"));
}

}  // namespace
}  // namespace tidegate::testing
