// SPDX-License-Identifier: Apache-2.0
#include "tests/support/mosquitto_broker.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <system_error>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
constexpr const char* kMosquittoPasswd = "/usr/bin/mosquitto_passwd";
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr int kStartAttempts = 3;  // only with ports we picked: another process may win them

std::string TailLines(const std::string& path, int lines) {
  std::vector<std::string> all = ReadLines(path);
  std::size_t first = all.size() > static_cast<std::size_t>(lines)
                          ? all.size() - static_cast<std::size_t>(lines)
                          : 0;
  std::string tail;
  for (std::size_t i = first; i < all.size(); ++i) tail += all[i] + "\n";
  return tail;
}

bool ListenersUp(int port, int tls_port) {
  return TcpPortAcceptsConnections(port) && (tls_port == 0 || TcpPortAcceptsConnections(tls_port));
}

}  // namespace

std::string MosquittoBroker::ConfigText() const {
  const BrokerOptions& o = options_;
  std::string c = "# Written by tidegate's test support (mosquitto_broker.cc).\n";
  c += "per_listener_settings false\n";
  c += o.users.empty()
           ? std::string("allow_anonymous ") + (o.allow_anonymous ? "true\n" : "false\n")
           : "allow_anonymous false\npassword_file " + PasswordFilePath() + "\n";
  if (!o.acl_file.empty()) c += "acl_file " + o.acl_file + "\n";
  c += "listener " + std::to_string(port_) + " 127.0.0.1\n";
  if (!o.tls_cert_file.empty()) {
    c += "listener " + std::to_string(tls_port_) + " 127.0.0.1\n";
    c += "certfile " + o.tls_cert_file + "\nkeyfile " + o.tls_key_file + "\n";
    if (!o.tls_ca_file.empty()) c += "cafile " + o.tls_ca_file + "\n";
    c += std::string("require_certificate ") + (o.tls_require_client_cert ? "true" : "false");
    c += "\n";
    if (o.tls_use_identity_as_username) c += "use_identity_as_username true\n";
  }
  c += std::string("persistence ") + (o.persistence ? "true" : "false") + "\n";
  // Mosquitto 1.x appended "mosquitto.db" to this string as-is; 2.0 adds a "/" itself.
  // A trailing slash is right for both.
  c += "persistence_location " + dir_ + "/\n";
  c += "autosave_interval " + std::to_string(o.autosave_interval_s) + "\n";
  c += "max_queued_messages " + std::to_string(o.max_queued_messages) + "\n";
  c += "max_queued_bytes 0\n";
  c += "max_inflight_messages " + std::to_string(o.max_inflight_messages) + "\n";
  c += "upgrade_outgoing_qos false\nset_tcp_nodelay true\n";
  c += "log_dest file " + LogPath() + "\n";
  c += "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
  c += "connection_messages true\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n";
  // As root, mosquitto switches to the "mosquitto" user, which cannot write into a test's
  // 0700 temp dir: persistence would silently fail. Stay root instead.
  if (::geteuid() == 0) c += "user root\n";
  if (!o.extra_config.empty()) c += o.extra_config + "\n";
  return c;
}

// mosquitto_passwd -b stores each password hashed (PBKDF2-SHA512); -c starts a new file.
Status MosquittoBroker::WritePasswordFile() const {
  std::remove(PasswordFilePath().c_str());
  for (const auto& [user, password] : options_.users) {
    std::vector<std::string> argv = {kMosquittoPasswd, "-b"};
    if (&user == &options_.users.front().first) argv.emplace_back("-c");
    argv.insert(argv.end(), {PasswordFilePath(), user, password});
    TG_ASSIGN_OR_RETURN(CommandResult run, RunCommand(argv, std::chrono::seconds(30)));
    if (run.exit_code != 0) {
      return Internal("mosquitto_passwd failed for user " + user + ": " + run.stderr_text);
    }
  }
  return Status::Ok();
}

Status MosquittoBroker::StartOnce() {
  if (!options_.users.empty()) TG_RETURN_IF_ERROR(WritePasswordFile());
  TG_RETURN_IF_ERROR(WriteFile(ConfigPath(), ConfigText()));
  const std::string out = dir_ + "/mosquitto.out";
  TG_RETURN_IF_ERROR(
      process_.Start({kMosquitto, "-c", ConfigPath()}, {.stdout_file = out, .stderr_file = out}));
  const int port = port_;
  const int tls_port = tls_port_;
  bool up = WaitUntil([&] { return !process_.Running() || ListenersUp(port, tls_port); },
                      std::chrono::duration_cast<std::chrono::milliseconds>(kStartTimeout),
                      std::chrono::milliseconds(10));
  if (up && process_.Running()) return Status::Ok();
  process_.Kill();
  return Unavailable("mosquitto on port " + std::to_string(port_) + " did not come up (exit " +
                     std::to_string(process_.exit_status().value_or(-1)) + "); log:\n" + LogTail());
}

Status MosquittoBroker::Start(const std::string& dir, const BrokerOptions& options) {
  if (process_.Running()) return Internal("MosquittoBroker::Start: already running");
  process_.Kill();  // reaps a broker that died on its own; no-op otherwise
  std::error_code ec;
  dir_ = std::filesystem::absolute(dir, ec).string();
  if (ec) return IOError("MosquittoBroker: bad dir " + dir + ": " + ec.message());
  options_ = options;
  Status status;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = options.port != 0 ? options.port : FreeTcpPort();
    tls_port_ = options.tls_cert_file.empty() ? 0
                : options.tls_port != 0       ? options.tls_port
                                              : FreeTcpPort();
    status = StartOnce();
    const bool picked_ports =
        options.port == 0 || (!options.tls_cert_file.empty() && options.tls_port == 0);
    if (status.ok() || !picked_ports) break;
  }
  return status;
}

Status MosquittoBroker::Stop(std::chrono::milliseconds timeout) {
  if (process_.pid() <= 0 || process_.exit_status()) {
    return Status::Ok();  // never started, or already stopped or killed
  }
  int code = process_.Terminate(timeout);
  if (code != 0) {
    return Internal("mosquitto did not stop cleanly (exit " + std::to_string(code) + "); log:\n" +
                    LogTail());
  }
  return Status::Ok();
}

void MosquittoBroker::Kill() { process_.Kill(); }

Status MosquittoBroker::Restart() {
  if (dir_.empty()) return Internal("MosquittoBroker::Restart before Start");
  if (process_.Running()) TG_RETURN_IF_ERROR(Stop());
  options_.port = port_;
  options_.tls_port = tls_port_;
  return Start(dir_, options_);
}

std::string MosquittoBroker::LogTail(int lines) const {
  return "--- " + LogPath() + "\n" + TailLines(LogPath(), lines) + "--- " + dir_ +
         "/mosquitto.out\n" + TailLines(dir_ + "/mosquitto.out", lines);
}

}  // namespace tidegate::testing
