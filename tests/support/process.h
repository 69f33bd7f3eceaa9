// SPDX-License-Identifier: Apache-2.0
// Process: a real child process (the agent, the collector, mosquitto, a CLI) owned by a
// test. The child runs in its own process group with stdin from /dev/null, default signal
// handling and no inherited descriptors; it is killed (with its group) and reaped when the
// Process is destroyed, so a failing REQUIRE leaves no zombie and no orphan, and it gets
// SIGKILL if the test binary itself dies. The first Start() makes the test binary a child
// subreaper (prctl) so that killed grandchildren are reaped too. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tidegate::testing {

// Every field has a default member initializer so that designated initializers may omit
// any of them without g++-12's -Wmissing-field-initializers.
struct ProcessOptions {
  // Files the child's stdout and stderr are appended to (created 0644 if missing). Empty:
  // /dev/null. Give both the same path to interleave them in one log.
  std::string stdout_file = {};
  std::string stderr_file = {};
  // Variables added to the test's own environment (a name already set is overridden).
  std::vector<std::pair<std::string, std::string>> env = {};
  // Working directory of the child. Empty: the test's working directory.
  std::string cwd = {};
};

class Process {
 public:
  Process() = default;
  // Kill()s the child if it has not been reaped yet.
  ~Process();

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;  // kills what this held before
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts argv[0] (searched in PATH unless it contains a '/') with argv. Fails with
  // kNotFound if the program does not exist, kIOError if an output file cannot be opened or
  // exec fails. REQUIRES: argv non-empty; no child started by this Process still unreaped.
  // REQUIRES: the calling thread outlives the child (the parent-death signal is bound to it).
  Status Start(const std::vector<std::string>& argv, const ProcessOptions& options = {});

  // The child's pid (also its process group id); -1 before Start.
  pid_t pid() const { return pid_; }

  // True while the child has been started and has not exited. Does not reap it.
  bool Running();

  // Sends `signo` to the child only (not its group). kUnavailable if it is not running.
  Status Signal(int signo);

  // Waits up to `timeout` for the child to exit and reaps it. Returns its exit code, or
  // 128+N if signal N ended it; nullopt if it is still running after `timeout`. Returns the
  // saved status again if already reaped. Does not kill descendants left behind.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  // SIGKILLs the child's whole process group and reaps it; returns the child's exit status
  // as Wait() does (137 if the kill ended it). Returns the saved status if already reaped.
  int Kill();

  // SIGTERM to the child, up to `timeout` for it to exit, then SIGKILL to its group (which
  // also ends anything it left behind). Returns the exit status as Wait() does, e.g. 0 for
  // a clean shutdown, 143 if SIGTERM was not handled, 137 if it had to be killed.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // The saved exit status once reaped.
  std::optional<int> exit_status() const { return exit_status_; }

 private:
  friend struct ProcessAccess;

  bool HasExited();  // the child is a zombie (or gone), without reaping it
  int Reap();        // blocking waitpid; saves and returns the status

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

struct CommandResult {
  int exit_code = -1;  // as Process::Wait(): 128+N for signal N
  std::string stdout_text = {};
  std::string stderr_text = {};
};

// Runs a command to completion and captures its output, e.g. `tidegate config check F`,
// `flatc --json`, `tidegate-collector dump`. options.stdout_file/stderr_file are ignored.
// A non-zero exit is not an error (check exit_code). kUnavailable if it runs past `timeout`
// (it is then killed; the message holds the tail of its stderr), other codes as Start().
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60),
                                 const ProcessOptions& options = {});

// "a b 'c d'": argv joined for messages.
std::string JoinArgv(const std::vector<std::string>& argv);

}  // namespace tidegate::testing
