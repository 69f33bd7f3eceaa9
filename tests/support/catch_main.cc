// SPDX-License-Identifier: Apache-2.0
// Catch2's main, after the one process setting every tidegate binary makes: SIGPIPE is
// ignored (agent_runner.cc, the collector's server, the simulator), because OpenSSL writes
// to a socket its peer closed with write(2), which raises it. Tests run the same TLS clients
// and servers in-process (the OpAMP client, the HTTPS transport), so without this a peer
// closing at the wrong moment killed the test binary. Processes the tests start get default
// dispositions back (tests/support/process.cc).
#define CATCH_CONFIG_RUNNER  // NOLINT(readability-identifier-naming): Catch2's switch
#include <catch2/catch.hpp>
#include <csignal>

int main(int argc, char* argv[]) {
  std::signal(SIGPIPE, SIG_IGN);  // NOLINT(concurrency-mt-unsafe): before any thread starts
  return Catch::Session().run(argc, argv);
}
