// SPDX-License-Identifier: Apache-2.0
#include "buffer/group_committer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/test_stall.h"
#include "common/thread_name.h"

namespace tidegate::buffer {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr Millis kFirstRetry{50};
constexpr Millis kMaxRetry{2'000};

}  // namespace

GroupCommitter::GroupCommitter(SqliteStore& store, CommitterOptions options)
    : store_(store), options_(options), progress_(SteadyClock::now()) {
  bool full = store_.SetFullCallback([this](bool now_full) {
    std::lock_guard<std::mutex> lock(mu_);
    store_full_ = now_full;
    if (!now_full) progress_cv_.notify_all();
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    store_full_ = full;
  }
  thread_ = std::thread([this] {
    NameThisThread("tg-writer");
    Run();
  });
}

GroupCommitter::~GroupCommitter() {
  (void)Stop();
  store_.SetFullCallback({});
}

bool GroupCommitter::Add(Event&& event) {
  std::unique_lock<std::mutex> lock(mu_);
  ++producers_waiting_;
  progress_cv_.wait(lock, [&] {
    return stopping_ || (staged_bytes_ < options_.max_staged_bytes && !store_full_);
  });
  --producers_waiting_;
  if (stopping_) return false;
  staged_bytes_ += event.payload.size() + event.topic.size() + 64;
  staged_.push_back(std::move(event));
  uint64_t my_gen = ++staged_gen_;
  // Wake the writer for the first record of a group (it then waits one interval), when the
  // staging area fills, or for every record with commit_interval 0.
  if (my_gen == committed_gen_ + 1 || options_.commit_interval.count() == 0 ||
      staged_bytes_ >= options_.max_staged_bytes / 2) {
    work_cv_.notify_one();
  }
  if (options_.commit_interval.count() == 0) {
    ++producers_waiting_;
    progress_cv_.wait(lock, [&] { return committed_gen_ >= my_gen || abandon_; });
    --producers_waiting_;
  }
  return true;
}

void GroupCommitter::AddDeadLetter(DeadLetter&& dead_letter) {
  std::lock_guard<std::mutex> lock(mu_);
  staged_counters_["dead_letter." + std::string(dead_letter.reason)] += 1;
  staged_bytes_ += dead_letter.topic.size() + dead_letter.detail.size() + 64;
  staged_dead_.push_back(std::move(dead_letter));
  ++staged_gen_;
  work_cv_.notify_one();
}

void GroupCommitter::AddKeyEpoch(SealedKeyEpoch&& key_epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  staged_bytes_ += key_epoch.sealed.size() + 64;
  staged_key_epochs_.push_back(std::move(key_epoch));
  ++staged_gen_;
  work_cv_.notify_one();
}

void GroupCommitter::AddCounter(const std::string& name, int64_t delta) {
  std::lock_guard<std::mutex> lock(mu_);
  staged_counters_[name] += delta;
  ++staged_gen_;
  work_cv_.notify_one();
}

Status GroupCommitter::Flush(Millis timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = staged_gen_;
  flush_requested_ = true;
  work_cv_.notify_one();
  bool done = progress_cv_.wait_for(lock, timeout, [&] { return committed_gen_ >= target; });
  if (done) return Status::Ok();
  return Unavailable("buffer commit did not complete: " + stats_.last_error);
}

Status GroupCommitter::Stop(Millis timeout) {
  if (!thread_.joinable()) return Status::Ok();
  Status status = Flush(timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    abandon_ = true;
  }
  work_cv_.notify_all();
  progress_cv_.notify_all();
  thread_.join();
  return status;
}

CommitterStats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  CommitterStats stats = stats_;
  stats.store_full = store_full_;
  return stats;
}

// Nothing arrived for a while: let the stage close windows of idle devices, and the store
// expire what max_age and the dedup window no longer keep. Called and returns with lock held.
void GroupCommitter::IdleUpkeep(std::unique_lock<std::mutex>& lock, Millis retry) {
  if (options_.stage != nullptr && !CommitOnce(lock)) {
    work_cv_.wait_for(lock, retry, [&] { return abandon_; });
  }
  lock.unlock();
  Status upkeep = store_.Maintain();
  lock.lock();
  if (!upkeep.ok()) spdlog::warn("buffer maintenance failed: {}", upkeep.ToString());
}

void GroupCommitter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  Millis retry = kFirstRetry;
  const Millis interval = options_.commit_interval;
  while (!abandon_) {
    TestStallPoint(StallPoint::kWriter);
    progress_.Beat(SteadyClock::now());
    if (staged_gen_ == committed_gen_) {
      auto has_work = [&] { return abandon_ || staged_gen_ != committed_gen_; };
      if (!work_cv_.wait_for(lock, options_.idle_tick, has_work) && !stopping_) {
        IdleUpkeep(lock, retry);
      }
      continue;
    }
    // Let one interval's worth of records gather, unless someone is waiting for them.
    if (interval.count() > 0) {
      work_cv_.wait_for(lock, interval, [&] {
        return abandon_ || stopping_ || flush_requested_ ||
               staged_bytes_ >= options_.max_staged_bytes / 2;
      });
      if (abandon_) break;
    }
    if (CommitOnce(lock)) {
      retry = kFirstRetry;
      continue;
    }
    // The store refused (disk full, I/O error): keep everything staged, back off, retry.
    work_cv_.wait_for(lock, retry, [&] { return abandon_; });
    retry = std::min(retry * 2, kMaxRetry);
  }
}

// Commits what is staged now. Called and returns with lock held; unlocked while writing.
bool GroupCommitter::CommitOnce(std::unique_lock<std::mutex>& lock) {
  std::vector<Event> records;
  std::vector<DeadLetter> dead;
  std::map<std::string, int64_t> counters;
  std::vector<SealedKeyEpoch> key_epochs;
  records.swap(staged_);
  staged_.swap(spare_);
  key_epochs.swap(staged_key_epochs_);
  dead.swap(staged_dead_);
  counters.swap(staged_counters_);
  uint64_t gen = staged_gen_;
  size_t bytes = staged_bytes_;
  lock.unlock();
  std::vector<StateWrite> state;
  RunStage(records, counters, state);
  if (records.empty() && dead.empty() && counters.empty() && key_epochs.empty() && state.empty()) {
    if (options_.stage != nullptr) options_.stage->Committed(true);
    lock.lock();
    committed_gen_ = gen;
    RecycleGroup(records);
    return true;
  }
  auto start = SteadyClock::now();
  Status status = store_.Append(records, dead, counters, key_epochs, state);
  const auto elapsed = SteadyClock::now() - start;
  if (options_.stage != nullptr) options_.stage->Committed(status.ok());
  const size_t committed = records.size();
  if (status.ok()) records.clear();  // freed before taking the lock producers wait on
  lock.lock();
  if (status.ok()) {
    RecycleGroup(records);
    flush_requested_ = false;
    staged_bytes_ -= bytes;
    committed_gen_ = gen;
    stats_.commits++;
    stats_.committed_records += committed;
    commit_durations_.Observe(elapsed);
    stats_.healthy = true;
    progress_cv_.notify_all();
    return true;
  }
  // Keep what the stage produced for the next attempt; what was staged meanwhile stays staged
  // and goes through the stage then, after these.
  processed_.swap(records);
  processed_state_.swap(state);
  dead.insert(dead.end(), std::make_move_iterator(staged_dead_.begin()),
              std::make_move_iterator(staged_dead_.end()));
  staged_dead_.swap(dead);
  for (const auto& [name, delta] : counters) staged_counters_[name] += delta;
  key_epochs.insert(key_epochs.end(), std::make_move_iterator(staged_key_epochs_.begin()),
                    std::make_move_iterator(staged_key_epochs_.end()));
  staged_key_epochs_.swap(key_epochs);
  if (stats_.healthy || stats_.last_error != status.ToString()) {
    spdlog::error("buffer commit failed, holding {} records in memory and pausing ingest: {}",
                  staged_.size(), status.ToString());
  }
  stats_.failed_commits++;
  stats_.healthy = false;
  stats_.last_error = status.ToString();
  return false;
}

void GroupCommitter::RecycleGroup(std::vector<Event>& records) {
  // Bounded, so one burst does not keep a large vector for good (the RSS budget).
  constexpr size_t kMaxSpareEvents = 4'096;
  records.clear();
  if (records.capacity() <= kMaxSpareEvents && records.capacity() > spare_.capacity()) {
    spare_.swap(records);
  }
}

void GroupCommitter::RunStage(std::vector<Event>& records, std::map<std::string, int64_t>& counters,
                              std::vector<StateWrite>& state) {
  if (options_.stage != nullptr) {
    CommitExtras extras;
    options_.stage->Process(records, store_.age_clock().Now(), extras);
    for (const auto& [name, delta] : extras.counters) counters[name] += delta;
    state = std::move(extras.state);
  }
  if (processed_.empty() && processed_state_.empty()) return;
  // A failed commit's output goes first, keeping arrival order.
  processed_.insert(processed_.end(), std::make_move_iterator(records.begin()),
                    std::make_move_iterator(records.end()));
  records = std::move(processed_);
  processed_.clear();
  processed_state_.insert(processed_state_.end(), std::make_move_iterator(state.begin()),
                          std::make_move_iterator(state.end()));
  state = std::move(processed_state_);
  processed_state_.clear();
}

}  // namespace tidegate::buffer
