// SPDX-License-Identifier: Apache-2.0
// LogRateLimiter: lets the first few repeats of a log message through per period, counts
// the rest, and reports them as one summary per message when the period ends. Messages are
// keyed by their template: the formatted text with every word that holds a digit replaced
// by '#', so "retry 3 in 400 ms" and "retry 4 in 800 ms" are one message. At most
// `max_tracked` templates are remembered (least recently seen dropped first, its pending
// count reported). Not thread-safe: the log sink calls it under its own mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace tidegate {

struct LogRateLimitOptions {
  // Occurrences of one template logged per period; later ones are counted. 0 turns the
  // limiter off (everything passes).
  int64_t burst = 5;
  // Length of a template's window, from its first occurrence; also the longest a
  // suppressed count waits before its summary.
  std::chrono::milliseconds period{60'000};
  // Templates remembered; each costs about two copies of its message.
  size_t max_tracked = 256;
};

// What the limiter suppressed of one template during a window.
struct SuppressedRepeats {
  int level = 0;  // the level of the last suppressed message (spdlog's numbering)
  int64_t count = 0;
  std::string last;  // the last suppressed message, as formatted
};

class LogRateLimiter {
 public:
  // `clock` must outlive the limiter; only its monotonic time is read.
  LogRateLimiter(Clock& clock, LogRateLimitOptions options);

  // True if the message is to be written; false if it is counted for a summary instead.
  // Summaries that became due (windows that ended, templates evicted) go to *due.
  bool Admit(int level, std::string_view text, std::vector<SuppressedRepeats>* due);

  // Summaries of windows that have ended, for a periodic flush.
  void TakeDue(std::vector<SuppressedRepeats>* due);

  // Every pending summary, ended or not (at shutdown).
  void TakeAll(std::vector<SuppressedRepeats>* due);

  size_t tracked() const { return entries_.size(); }

  // The key of a message: words (runs of letters, digits and "._-:/") that hold a digit
  // become '#'.
  static std::string Template(std::string_view text);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point window_start;
    int64_t seen = 0;  // in this window, suppressed ones included
    SuppressedRepeats suppressed;
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
  };

  void Evict(std::vector<SuppressedRepeats>* due);
  static void TakeSummary(Entry& entry, std::vector<SuppressedRepeats>* due);

  Clock& clock_;
  const LogRateLimitOptions options_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
  std::chrono::steady_clock::time_point next_scan_{};
};

}  // namespace tidegate
