// SPDX-License-Identifier: Apache-2.0
#include "collector/store/pg_pool.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <utility>

#include "collector/store/pg_text.h"

namespace tidegate::collector::pg {
namespace {

std::string OneLine(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return text;
}

}  // namespace

Status ConnectionError(pg_conn* conn, std::string_view what) {
  return Unavailable(fmt::format("postgres: {}: {}", what, OneLine(PQerrorMessage(conn))));
}

void PgPool::ConnCloser::operator()(pg_conn* conn) const { PQfinish(conn); }

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) {
    pool_->Return(std::move(conn_));
  } else if (pool_ != nullptr) {
    pool_->Return(nullptr);
  }
}

PgPool::PgPool(std::string conninfo, size_t max_connections, OnConnect on_connect)
    : conninfo_(std::move(conninfo)),
      max_(max_connections > 0 ? max_connections : 1),
      on_connect_(std::move(on_connect)) {}

PgPool::~PgPool() = default;

Result<PgPool::ConnPtr> PgPool::Connect() {
  const char* const keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* const values[] = {conninfo_.c_str(), "10", "tidegate-collector", nullptr};
  ConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr) return Unavailable("postgres: out of memory connecting");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable(fmt::format("postgres: cannot connect to {}: {}", RedactConninfo(conninfo_),
                                   OneLine(PQerrorMessage(conn.get()))));
  }
  if (on_connect_) TG_RETURN_IF_ERROR(on_connect_(conn.get()));
  return conn;
}

Result<PgPool::Lease> PgPool::Acquire(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!returned_.wait_for(lock, wait, [this] { return !idle_.empty() || open_ < max_; })) {
    return Unavailable(fmt::format("postgres: all {} connections busy", max_));
  }
  while (!idle_.empty()) {
    ConnPtr conn = std::move(idle_.back());
    idle_.pop_back();
    if (PQstatus(conn.get()) == CONNECTION_OK) return Lease(this, std::move(conn));
    --open_;  // broken while idle: closed here, replaced below
  }
  ++open_;
  lock.unlock();
  Result<ConnPtr> conn = Connect();
  if (!conn.ok()) {
    Return(nullptr);
    return conn.status();
  }
  return Lease(this, std::move(conn).value());
}

void PgPool::Return(ConnPtr conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn != nullptr && PQstatus(conn.get()) == CONNECTION_OK &&
        PQtransactionStatus(conn.get()) == PQTRANS_IDLE) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
      conn.reset();
    }
  }
  returned_.notify_one();
}

}  // namespace tidegate::collector::pg
