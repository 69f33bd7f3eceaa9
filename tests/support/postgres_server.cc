// SPDX-License-Identifier: Apache-2.0
#include "tests/support/postgres_server.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "tests/support/wait.h"

namespace tidegate::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kUser[] = "tidegate";

// Prefix that runs a command as nobody when we are root; empty otherwise.
std::vector<std::string> RunAsPrefix() {
  if (geteuid() != 0) return {};
  return {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct ConnFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};

}  // namespace

PostgresServer::~PostgresServer() {
  if (process_.pid() > 0) static_cast<void>(Stop());
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresServer::Url(std::string_view database) const {
  return fmt::format("postgresql:///{}?host={}&user={}", database, dir_, kUser);
}

std::string PostgresServer::LogTail() const {
  std::ifstream in(dir_ + "/postgres.log");
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
}

Status PostgresServer::Start() {
  // /tmp, not $TMPDIR: the socket path must stay below 107 bytes.
  std::string pattern = "/tmp/tg-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return IOError("mkdtemp /tmp/tg-pg-XXXXXX failed");
  dir_ = pattern;
  if (geteuid() == 0) {
    // Servers are started from one thread.
    const passwd* nobody = getpwnam("nobody");  // NOLINT(concurrency-mt-unsafe)
    if (nobody == nullptr) return Internal("no user nobody to run postgres as");
    if (chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      return IOError("cannot chown " + dir_ + " to nobody");
    }
  }
  chmod(dir_.c_str(), 0755);  // NOLINT(cert-err33-c): the initdb below reports any problem
  std::vector<std::string> initdb =
      Concat(RunAsPrefix(), {fmt::format("{}/initdb", kBinDir), "-D", dir_ + "/data", "-U", kUser,
                             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"});
  TG_ASSIGN_OR_RETURN(CommandResult result, RunCommand(initdb, std::chrono::seconds(120)));
  if (result.exit_code != 0) {
    return Internal(fmt::format("initdb failed ({}): {}", result.exit_code, result.stderr_text));
  }
  return StartPostgres();
}

Status PostgresServer::StartPostgres() {
  std::vector<std::string> argv =
      Concat(RunAsPrefix(),
             {fmt::format("{}/postgres", kBinDir), "-D", dir_ + "/data", "-k", dir_, "-c",
              "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
              "full_page_writes=off", "-c", "max_connections=100", "-c", "shared_buffers=32MB"});
  std::string log = dir_ + "/postgres.log";
  TG_RETURN_IF_ERROR(process_.Start(argv, {.stdout_file = log, .stderr_file = log}));
  std::string conninfo = fmt::format("host={} user={} dbname=postgres", dir_, kUser);
  bool ready =
      WaitUntil([&] { return !process_.Running() || PQping(conninfo.c_str()) == PQPING_OK; },
                std::chrono::seconds(30));
  if (!ready || !process_.Running()) {
    return Internal("postgres did not start: " + LogTail());
  }
  return Status::Ok();
}

Status PostgresServer::Stop() {
  if (!process_.Running()) return Status::Ok();
  static_cast<void>(process_.Signal(SIGINT));  // fast shutdown
  if (!process_.Wait(std::chrono::seconds(30)).has_value()) {
    process_.Kill();
    return Internal("postgres did not stop within 30 s: " + LogTail());
  }
  return Status::Ok();
}

Status PostgresServer::Restart() {
  TG_RETURN_IF_ERROR(Stop());
  process_ = Process();
  return StartPostgres();
}

Result<std::string> PostgresServer::CreateDatabase(std::string_view name,
                                                   std::string_view icu_locale) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return InvalidArgument(fmt::format("database name '{}': use [a-z0-9_]", name));
    }
  }
  std::string conninfo = fmt::format("host={} user={} dbname=postgres", dir_, kUser);
  std::unique_ptr<PGconn, ConnFinish> conn(PQconnectdb(conninfo.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable(std::string("connect: ") + PQerrorMessage(conn.get()));
  }
  for (char c : icu_locale) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')) {
      return InvalidArgument(fmt::format("ICU locale '{}': use [A-Za-z_-]", icu_locale));
    }
  }
  std::string sql = fmt::format("CREATE DATABASE {}", name);
  if (!icu_locale.empty()) {
    sql += fmt::format(" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{}'", icu_locale);
  }
  PGresult* res = PQexec(conn.get(), sql.c_str());
  bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  if (!ok) return Internal(sql + ": " + PQerrorMessage(conn.get()));
  return Url(name);
}

Result<PostgresServer*> SharedPostgresServer() {
  static PostgresServer* server = nullptr;
  static Status started = [] {
    server = new PostgresServer();  // NOLINT(cppcoreguidelines-owning-memory): see header
    Status s = server->Start();
    std::atexit([] { delete server; });  // NOLINT(cppcoreguidelines-owning-memory)
    return s;
  }();
  if (!started.ok()) return started;
  return server;
}

Result<std::string> FreshPostgresDatabase(std::string_view icu_locale) {
  static std::atomic<int> counter{0};
  TG_ASSIGN_OR_RETURN(PostgresServer * server, SharedPostgresServer());
  return server->CreateDatabase(fmt::format("tg_test_{}", counter.fetch_add(1)), icu_locale);
}

}  // namespace tidegate::testing
