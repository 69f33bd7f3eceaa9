// SPDX-License-Identifier: Apache-2.0
// PgPool: a bounded pool of libpq connections to one database for the PostgreSQL landing
// store (HTTP handlers land from a thread pool). A connection found broken (the server
// restarted, the network failed) is closed and a new one is made on the next Acquire, so
// the store recovers without a restart. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

struct pg_conn;

namespace tidegate::collector::pg {

class PgPool {
 public:
  struct ConnCloser {
    void operator()(pg_conn* conn) const;
  };
  using ConnPtr = std::unique_ptr<pg_conn, ConnCloser>;
  // Runs on every new connection before it is used (prepares the statements).
  using OnConnect = std::function<Status(pg_conn*)>;

  // A connection on loan; returned to the pool on destruction unless Discard()ed.
  class Lease {
   public:
    Lease(PgPool* pool, ConnPtr conn) : pool_(pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    pg_conn* get() const { return conn_.get(); }
    // Closes the connection instead of returning it (after an error that may have left it
    // in an unknown state).
    void Discard() { conn_.reset(); }

   private:
    PgPool* pool_;
    ConnPtr conn_;
  };

  // conninfo: a postgresql:// URL or key=value string. At most max_connections are open.
  PgPool(std::string conninfo, size_t max_connections, OnConnect on_connect);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // An idle connection, or a new one while fewer than max are open, waiting up to `wait`
  // for one to be returned. kUnavailable if the server cannot be reached (the message
  // holds the connection string with its password hidden) or none became free in time.
  Result<Lease> Acquire(std::chrono::milliseconds wait = std::chrono::seconds(10));

 private:
  void Return(ConnPtr conn);
  Result<ConnPtr> Connect();

  const std::string conninfo_;
  const size_t max_;
  const OnConnect on_connect_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<ConnPtr> idle_;  // guarded by mu_
  size_t open_ = 0;            // guarded by mu_: idle plus on loan plus being connected
};

// kUnavailable with the libpq error message (one line, no password: libpq does not echo it).
Status ConnectionError(pg_conn* conn, std::string_view what);

}  // namespace tidegate::collector::pg
