// SPDX-License-Identifier: Apache-2.0
// PostgresServer: a real, throw-away PostgreSQL 15 (Debian's /usr/lib/postgresql/15/bin
// initdb and postgres) in a fresh directory under /tmp, listening only on a unix socket in
// that directory, with trust authentication for the user "tidegate". When the test runs as
// root (CI does), initdb and postgres run as `nobody` (setpriv) and the directory is
// chowned to it: PostgreSQL refuses to run as root. Settings favour speed over durability
// (fsync=off, synchronous_commit=off, full_page_writes=off): no test that uses it may test
// durability across a machine crash; Restart() (a fast shutdown) keeps every commit.
// Owns the process: destroying the server stops it and removes the directory. Not
// thread-safe; one server per test binary is enough (SharedPostgresServer).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "tests/support/process.h"

namespace tidegate::testing {

class PostgresServer {
 public:
  PostgresServer() = default;
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates the directory, runs initdb and starts postgres, waiting (up to 30 s) until it
  // accepts connections. The error carries the tail of the server log.
  Status Start();

  // Fast shutdown (SIGINT): open connections are ended, committed data is kept.
  Status Stop();

  // Stop() and start again on the same data directory.
  Status Restart();

  // Creates a database (name: lower-case letters, digits, '_') and returns its URL,
  // postgresql:///NAME?host=DIR&user=tidegate. With icu_locale (e.g. "und", the ICU root
  // collation, which orders "gw-a" < "GW-Z" < "gw-b"), text sorts by that ICU collation
  // rather than the cluster's C.UTF-8 (byte order).
  Result<std::string> CreateDatabase(std::string_view name, std::string_view icu_locale = {});

  std::string Url(std::string_view database) const;
  const std::string& dir() const { return dir_; }

 private:
  Status StartPostgres();
  std::string LogTail() const;

  std::string dir_;  // socket directory; data in dir_/data, log in dir_/postgres.log
  Process process_;
};

// One server for the whole test binary, started at the first call (a failure to start is
// returned again by every later call). Never destroyed before exit: its Process kills it
// when the binary ends (parent-death signal), and the directory is removed at exit.
Result<PostgresServer*> SharedPostgresServer();

// A fresh database on the shared server, named after a counter; returns its URL.
Result<std::string> FreshPostgresDatabase(std::string_view icu_locale = {});

}  // namespace tidegate::testing
