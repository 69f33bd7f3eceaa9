// SPDX-License-Identifier: Apache-2.0
#include "collector/store/wal_checkpointer.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "common/thread_name.h"

namespace tidegate::collector {
namespace {

// The integer a PRAGMA query returns, or an SQLite error code.
int ReadPragma(sqlite3* db, const char* sql, int64_t* value) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *value = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

}  // namespace

void WalCheckpointer::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer,
                                                                const std::string& path,
                                                                Options options) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  if (rc != SQLITE_OK) {
    return IOError("landing db: open " + path +
                   " for checkpoints: " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  // FULL: the checkpoint fsyncs the WAL before it copies and the file after, so the WAL may
  // start again over frames only once the file holds them durably.
  rc = sqlite3_exec(db.get(), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  int64_t synchronous = 0;
  int64_t page_size = 0;
  if (rc == SQLITE_OK) rc = ReadPragma(db.get(), "PRAGMA synchronous", &synchronous);
  if (rc == SQLITE_OK) rc = ReadPragma(writer, "PRAGMA page_size", &page_size);
  if (rc == SQLITE_OK) {
    // The writer truncates a WAL that grew past the inline bound back to it when it starts
    // the WAL again (the file otherwise keeps its largest size).
    const std::string limit =
        "PRAGMA journal_size_limit=" +
        std::to_string(static_cast<int64_t>(options.inline_frames) * page_size);
    rc = sqlite3_exec(writer, limit.c_str(), nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) {
    return IOError("landing db: configure checkpoints of " + path + ": " + sqlite3_errstr(rc));
  }
  return std::unique_ptr<WalCheckpointer>(
      new WalCheckpointer(writer, std::move(db), options, static_cast<int>(synchronous)));
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, std::unique_ptr<sqlite3, DbCloser> db,
                                 Options options, int synchronous)
    : writer_(writer), db_(std::move(db)), options_(options), synchronous_(synchronous) {
  sqlite3_wal_hook(writer_, &WalCheckpointer::OnCommit, this);
  thread_ = std::thread([this] { Loop(); });
}

WalCheckpointer::~WalCheckpointer() {
  // The owner no longer commits on writer_ here (REQUIRES of Start), so the hook cannot run
  // concurrently with its removal.
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

WalCheckpointStats WalCheckpointer::stats() const {
  return WalCheckpointStats{.background = background_.load(),
                            .inline_ = inline_.load(),
                            .failed = failed_.load(),
                            .last_frames = last_frames_.load()};
}

int WalCheckpointer::OnCommit(void* arg, sqlite3* writer, const char* schema, int frames) {
  auto* self = static_cast<WalCheckpointer*>(arg);
  self->last_frames_.store(frames);
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    // This transaction started the WAL again. (One larger than the whole WAL before it goes
    // unseen: the counts then lag by that transaction, and the inline bound still holds.)
    if (frames < self->frames_) {
      self->generation_++;
      self->backfilled_ = 0;
      self->retry_at_ = 0;
    }
    self->frames_ = frames;
    generation = self->generation_;
    if (frames < self->options_.inline_frames) {
      if (self->DueLocked()) self->cv_.notify_one();
      return SQLITE_OK;
    }
  }
  // The bound. It copies what the thread has not, and, as the writer holds the WAL meanwhile,
  // all of it: the next transaction starts the WAL again. Every later commit tries again if
  // the thread is checkpointing right now (SQLITE_BUSY) or a reader still uses older frames
  // (the call then copies what it can, and costs no fsync when that is nothing).
  int log = 0;
  int copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc == SQLITE_BUSY) return SQLITE_OK;
  self->CountResult(rc, "inline");
  if (rc == SQLITE_OK) {
    self->inline_++;
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->generation_ == generation) self->backfilled_ = std::max(self->backfilled_, copied);
  }
  // The commit has happened whatever this returns; an error would only make it look failed.
  return SQLITE_OK;
}

bool WalCheckpointer::DueLocked() const {
  return frames_ - backfilled_ >= options_.background_frames && frames_ >= retry_at_;
}

void WalCheckpointer::Loop() {
  NameThisThread("tg-checkpoint");
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || DueLocked(); });
    if (stop_) return;
    const uint64_t generation = generation_;
    lock.unlock();
    int log = 0;
    int copied = 0;
    int rc =
        sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    // SQLITE_BUSY: the writer's inline checkpoint holds the lock, and copies everything.
    if (rc != SQLITE_BUSY) CountResult(rc, "background");
    if (rc == SQLITE_OK) background_++;
    lock.lock();
    if (generation_ != generation) continue;  // the WAL started again meanwhile: counts anew
    if (rc == SQLITE_OK) backfilled_ = std::max(backfilled_, copied);
    // A failure, or frames a reader still uses (copied < log): not again before another
    // background_frames have been committed, rather than at once and over and over.
    if (rc != SQLITE_OK || copied < log) retry_at_ = frames_ + options_.background_frames;
  }
}

void WalCheckpointer::CountResult(int rc, const char* kind) {
  // Logged once per run of failures: every later commit past the threshold retries.
  if (rc == SQLITE_OK) {
    if (failing_.exchange(false)) spdlog::info("landing db: WAL checkpoints succeed again");
    return;
  }
  failed_++;
  if (!failing_.exchange(true)) {
    spdlog::warn("landing db: {} WAL checkpoint failed: {}; the WAL grows until one succeeds", kind,
                 sqlite3_errstr(rc));
  }
}

}  // namespace tidegate::collector
