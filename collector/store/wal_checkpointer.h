// SPDX-License-Identifier: Apache-2.0
// WalCheckpointer: copies a SQLite database's WAL back into the database file from a thread
// and a connection of its own, so that the writer's commits do not wait for it.
//
// Why: SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000
// pages, on the writer's connection. In the collector that commit holds the group commit,
// and with it every batch queued behind it (and its agent's connection), while the WAL's
// pages are copied into the file and both files are fsynced. During a drain of 1,000,000
// events the landing thread was busy 85% of the time and its commits took 60% of that
// (bench/README.md, "The collector checkpoints in the background").
//
// How: the writer's wal_hook, which replaces the automatic checkpoint, wakes the thread once
// a commit leaves `background_frames` pages in the WAL that no checkpoint has copied yet. The
// thread runs a PASSIVE checkpoint, which never takes the writer's lock: commits go on
// meanwhile, appending to the WAL. Each checkpoint costs two fsyncs, so the thread copies in
// chunks of that size rather than after every commit. The WAL starts again from its
// beginning only at a transaction after a checkpoint that copied every frame, which under a
// steady stream of commits the thread rarely manages: a commit that leaves `inline_frames`
// pages checkpoints on the writer's connection, as SQLite's automatic checkpoint did. It
// copies only what the thread has not, and all of it, so the WAL starts again: that is the
// bound on the WAL (journal_size_limit cuts a file that grew past it back to that size). A
// reader holding an old snapshot keeps either from completing, as before.
// Durability is unchanged: a commit is durable in the WAL (synchronous=FULL) before it
// returns; a checkpoint only moves committed pages, fsyncing the WAL before and the file after.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

struct sqlite3;

namespace tidegate::collector {

struct WalCheckpointStats {
  uint64_t background = 0;  // checkpoints run by the thread
  uint64_t inline_ = 0;     // checkpoints run by a commit past inline_frames
  uint64_t failed = 0;      // either kind, ended by an error (the disk, I/O); retried later
  int last_frames = 0;      // the WAL's pages after the writer's last commit
};

class WalCheckpointer {
 public:
  struct Options {
    int background_frames = 1000;  // SQLite's own automatic checkpoint threshold
    int inline_frames = 8000;      // 31 MiB of 4 KiB pages
  };

  // Opens a second connection to `path` for the checkpoints, installs the wal_hook on
  // `writer` and starts the thread. REQUIRES: `writer` is open on `path` in WAL mode, is
  // used by one thread at a time and outlives this object; nothing else sets its wal_hook.
  static Result<std::unique_ptr<WalCheckpointer>> Start(sqlite3* writer, const std::string& path,
                                                        Options options);
  // Removes the hook, wakes and joins the thread (a checkpoint in progress completes first).
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  WalCheckpointStats stats() const;
  // PRAGMA synchronous of the checkpoints' connection, read back when it was set up (2,
  // FULL; for tests: another connection cannot see it).
  int synchronous() const { return synchronous_; }

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };
  WalCheckpointer(sqlite3* writer, std::unique_ptr<sqlite3, DbCloser> db, Options options,
                  int synchronous);
  // The writer's wal_hook: runs in the writer's thread after each commit.
  static int OnCommit(void* self, sqlite3* writer, const char* schema, int frames);
  void Loop();
  // Whether the WAL holds background_frames pages not yet copied into the file. mu_ held.
  bool DueLocked() const;
  void CountResult(int rc, const char* kind);

  sqlite3* const writer_;
  const std::unique_ptr<sqlite3, DbCloser> db_;  // the thread's own connection
  const Options options_;
  const int synchronous_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_. Frames count from the WAL's last start, which the writer's hook sees as
  // a commit leaving fewer frames than the one before.
  int frames_ = 0;           // in the WAL after the last commit
  int backfilled_ = 0;       // of those, copied into the file by a checkpoint
  int retry_at_ = 0;         // after a failed or incomplete one: not before this many
  uint64_t generation_ = 0;  // starts of the WAL seen
  bool stop_ = false;
  std::atomic<uint64_t> background_{0};
  std::atomic<uint64_t> inline_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<bool> failing_{false};  // the last attempt failed (logged once per run)
  std::atomic<int> last_frames_{0};
  std::thread thread_;  // last: started once everything above is set up
};

}  // namespace tidegate::collector
