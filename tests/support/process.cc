// SPDX-License-Identifier: Apache-2.0
#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

namespace tidegate::testing {

// Lets RunCommand hand a child started on pipes to a Process that owns it.
struct ProcessAccess {
  static void Adopt(Process& process, pid_t pid) {
    process.pid_ = pid;
    process.exit_status_.reset();
  }
};

namespace {

constexpr int kExecFailedExit = 127;
constexpr std::size_t kStderrTailBytes = 2000;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int err) { return std::generic_category().message(err); }

std::string Errno(const std::string& what) { return what + ": " + ErrnoText(errno); }

Result<Fd> OpenOutput(const std::string& path) {
  const std::string target = path.empty() ? "/dev/null" : path;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return IOError(Errno("open " + target));
  return Fd(fd);
}

Status MakePipe(Fd& read_end, Fd& write_end) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return IOError(Errno("pipe2"));
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return Status::Ok();
}

std::string PathVariable(const ProcessOptions& options) {
  for (const auto& [name, value] : options.env) {
    if (name == "PATH") return value;
  }
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): tests do not setenv
  return path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
}

bool IsExecutableFile(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0 && ::access((path + "/.").c_str(), F_OK) != 0;
}

Result<std::string> ResolveProgram(const std::string& program, const std::string& path_var) {
  if (program.find('/') != std::string::npos) {
    if (!IsExecutableFile(program)) return NotFound("program " + program + " is not executable");
    return program;
  }
  std::size_t begin = 0;
  while (begin <= path_var.size()) {
    std::size_t end = std::min(path_var.find(':', begin), path_var.size());
    std::string dir = path_var.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (IsExecutableFile(candidate)) return candidate;
    begin = end + 1;
  }
  return NotFound("program " + program + " not found in PATH=" + path_var);
}

std::vector<std::string> BuildEnv(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view var(*entry);
    std::string_view name = var.substr(0, var.find('='));
    bool overridden = std::any_of(extra.begin(), extra.end(),
                                  [name](const auto& kv) { return kv.first == name; });
    if (!overridden) env.emplace_back(var);
  }
  for (const auto& [name, value] : extra) {
    std::string var = name;
    var += '=';
    var += value;
    env.push_back(std::move(var));
  }
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Everything the child needs, prepared before fork() so that the child only makes
// async-signal-safe calls (the test binary may have other threads holding malloc locks).
struct ExecPlan {
  std::string program;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string cwd;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int error_fd = -1;  // CLOEXEC pipe: receives errno if exec fails
};

[[noreturn]] void FailExec(int error_fd) {
  int err = errno;
  ssize_t ignored = ::write(error_fd, &err, sizeof(err));
  (void)ignored;
  ::_exit(kExecFailedExit);
}

void ResetSignals() {
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);  // NOLINT(concurrency-mt-unsafe): child has 1 thread
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) ::sigaction(signo, &dfl, nullptr);
}

[[noreturn]] void RunChild(const ExecPlan& plan, pid_t parent) {
  ::setpgid(0, 0);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
    ::_exit(kExecFailedExit);
  }
  ResetSignals();
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.stderr_fd, STDERR_FILENO) < 0) {
    FailExec(plan.error_fd);
  }
  if (!plan.cwd.empty() && ::chdir(plan.cwd.c_str()) != 0) FailExec(plan.error_fd);
  // Descriptors a library opened without O_CLOEXEC (a listening socket, a DB) must not
  // leak into the child and outlive the test's own handle.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
  FailExec(plan.error_fd);
}

// Makes the test binary the reaper of its children's orphans, so that what a killed child
// leaves behind is reaped here (ReapGroup) instead of piling up as zombies under a PID 1
// that never waits, as in many containers.
void BecomeSubreaperOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1); });
}

// Reaps members of a killed process group that were reparented to us. Bounded, in case one
// is slow to die (uninterruptible sleep).
void ReapGroup(pid_t pgid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (true) {
    pid_t rc = ::waitpid(-pgid, nullptr, WNOHANG);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return;  // ECHILD: none of our children is left in the group
    if (rc > 0) continue;
    if (std::chrono::steady_clock::now() >= deadline) return;
    ::kill(-pgid, SIGKILL);  // a live child of ours is in the group, so the id is still its
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Forks and execs; returns the child's pid once exec succeeded.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const ProcessOptions& options,
                    int stdout_fd, int stderr_fd) {
  if (argv.empty()) return InvalidArgument("Process: empty argv");
  ExecPlan plan;
  TG_ASSIGN_OR_RETURN(plan.program, ResolveProgram(argv[0], PathVariable(options)));
  plan.argv_storage = argv;
  plan.env_storage = BuildEnv(options.env);
  plan.argv = Pointers(plan.argv_storage);
  plan.envp = Pointers(plan.env_storage);
  plan.cwd = options.cwd;
  Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (dev_null.get() < 0) return IOError(Errno("open /dev/null"));
  Fd error_read;
  Fd error_write;
  TG_RETURN_IF_ERROR(MakePipe(error_read, error_write));
  plan.stdin_fd = dev_null.get();
  plan.stdout_fd = stdout_fd;
  plan.stderr_fd = stderr_fd;
  plan.error_fd = error_write.get();
  BecomeSubreaperOnce();

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return IOError(Errno("fork"));
  if (pid == 0) RunChild(plan, parent);
  ::setpgid(pid, pid);  // also here, so that kill(-pid) works as soon as we return
  error_write.Reset();
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    ::waitpid(pid, nullptr, 0);
    return IOError("exec " + plan.program + ": " + ErrnoText(child_errno));
  }
  return pid;
}

// Reads both pipes until both reach EOF (true) or the deadline passes (false).
bool DrainPipes(Fd& out, Fd& err, std::chrono::steady_clock::time_point deadline,
                CommandResult& result) {
  std::array<pollfd, 2> fds = {{{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}}};
  const std::array<std::string*, 2> sinks = {&result.stdout_text, &result.stderr_text};
  std::array<char, 65536> buf{};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    int ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) return false;
    for (std::size_t i = 0; i < fds.size() && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
      if (n > 0) sinks[i]->append(buf.data(), static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) fds[i].fd = -1;
    }
  }
  return true;
}

std::string Tail(const std::string& text) {
  if (text.size() <= kStderrTailBytes) return text;
  return "..." + text.substr(text.size() - kStderrTailBytes);
}

}  // namespace

Process::~Process() {
  if (pid_ > 0 && !exit_status_) Kill();
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_status_(std::exchange(other.exit_status_, {})) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_status_) Kill();
    pid_ = std::exchange(other.pid_, -1);
    exit_status_ = std::exchange(other.exit_status_, {});
  }
  return *this;
}

Status Process::Start(const std::vector<std::string>& argv, const ProcessOptions& options) {
  assert(pid_ <= 0 || exit_status_.has_value());
  if (pid_ > 0 && !exit_status_) return Internal("Process::Start: previous child not reaped");
  TG_ASSIGN_OR_RETURN(Fd out, OpenOutput(options.stdout_file));
  TG_ASSIGN_OR_RETURN(Fd err, OpenOutput(options.stderr_file));
  TG_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, options, out.get(), err.get()));
  pid_ = pid;
  exit_status_.reset();
  return Status::Ok();
}

bool Process::HasExited() {
  if (exit_status_ || pid_ <= 0) return true;
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc != 0 && errno == EINTR);
  return rc != 0 || info.si_pid != 0;  // ECHILD: someone else reaped it
}

int Process::Reap() {
  int status = 0;
  pid_t rc = 0;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  exit_status_ = -1;  // ECHILD: reaped elsewhere (SIGCHLD ignored), status unknown
  if (rc >= 0 && WIFEXITED(status)) exit_status_ = WEXITSTATUS(status);
  if (rc >= 0 && WIFSIGNALED(status)) exit_status_ = 128 + WTERMSIG(status);
  return *exit_status_;
}

bool Process::Running() { return pid_ > 0 && !HasExited(); }

Status Process::Signal(int signo) {
  if (!Running()) return Unavailable("Process::Signal: process is not running");
  if (::kill(pid_, signo) != 0) return IOError(Errno("kill " + std::to_string(pid_)));
  return Status::Ok();
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!HasExited()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return Reap();
}

int Process::Kill() {
  if (exit_status_) return *exit_status_;
  if (pid_ <= 0) return -1;
  // The child is not reaped yet, so its pid still names its group: no risk of hitting an
  // unrelated process that reused the number.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  const int status = Reap();
  ReapGroup(pid_);
  return status;
}

int Process::Terminate(std::chrono::milliseconds timeout) {
  if (exit_status_) return *exit_status_;
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!HasExited() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Kill();
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout, const ProcessOptions& options) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Fd out_read;
  Fd out_write;
  Fd err_read;
  Fd err_write;
  TG_RETURN_IF_ERROR(MakePipe(out_read, out_write));
  TG_RETURN_IF_ERROR(MakePipe(err_read, err_write));
  TG_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, options, out_write.get(), err_write.get()));
  Process process;
  ProcessAccess::Adopt(process, pid);
  out_write.Reset();
  err_write.Reset();

  CommandResult result;
  std::optional<int> code;
  if (DrainPipes(out_read, err_read, deadline, result)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    code = process.Wait(std::max(left, std::chrono::milliseconds(0)));
  }
  if (!code) {
    process.Kill();
    return Unavailable(JoinArgv(argv) + ": timed out after " + std::to_string(timeout.count()) +
                       " ms; stderr: " + Tail(result.stderr_text));
  }
  result.exit_code = *code;
  return result;
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string joined;
  for (const std::string& arg : argv) {
    if (!joined.empty()) joined += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    joined += plain ? arg : "'" + arg + "'";
  }
  return joined;
}

}  // namespace tidegate::testing
