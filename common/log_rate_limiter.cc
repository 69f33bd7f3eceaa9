// SPDX-License-Identifier: Apache-2.0
#include "common/log_rate_limiter.h"

#include <cctype>

namespace tidegate {
namespace {

bool IsWordByte(char ch) {
  auto u = static_cast<unsigned char>(ch);
  return std::isalnum(u) != 0 || ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '/';
}

}  // namespace

LogRateLimiter::LogRateLimiter(Clock& clock, LogRateLimitOptions options)
    : clock_(clock), options_(options) {}

std::string LogRateLimiter::Template(std::string_view text) {
  std::string key;
  key.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!IsWordByte(text[i])) {
      key.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    bool digit = false;
    while (end < text.size() && IsWordByte(text[end])) {
      digit |= std::isdigit(static_cast<unsigned char>(text[end])) != 0;
      ++end;
    }
    if (digit) {
      key.push_back('#');
    } else {
      key.append(text.substr(i, end - i));
    }
    i = end;
  }
  return key;
}

void LogRateLimiter::TakeSummary(Entry& entry, std::vector<SuppressedRepeats>* due) {
  if (entry.suppressed.count > 0) due->push_back(std::move(entry.suppressed));
  entry.suppressed = SuppressedRepeats{};
}

void LogRateLimiter::Evict(std::vector<SuppressedRepeats>* due) {
  auto it = entries_.find(lru_.back());
  TakeSummary(it->second, due);
  entries_.erase(it);
  lru_.pop_back();
}

bool LogRateLimiter::Admit(int level, std::string_view text, std::vector<SuppressedRepeats>* due) {
  if (options_.burst <= 0 || options_.max_tracked == 0) return true;
  const auto now = clock_.Monotonic();
  TakeDue(due);
  std::string key = Template(text);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_tracked) Evict(due);
    lru_.push_front(key);
    Entry entry;
    entry.window_start = now;
    entry.lru = lru_.begin();
    it = entries_.emplace(std::move(key), std::move(entry)).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& entry = it->second;
  if (now - entry.window_start >= options_.period) {
    TakeSummary(entry, due);
    entry.window_start = now;
    entry.seen = 0;
  }
  if (++entry.seen <= options_.burst) return true;
  entry.suppressed.level = level;
  entry.suppressed.count++;
  entry.suppressed.last.assign(text);
  return false;
}

void LogRateLimiter::TakeDue(std::vector<SuppressedRepeats>* due) {
  const auto now = clock_.Monotonic();
  // A full scan at most once a second keeps a burst of log lines O(1) each.
  if (now < next_scan_) return;
  next_scan_ = now + std::chrono::seconds(1);
  for (auto& [key, entry] : entries_) {
    if (entry.suppressed.count > 0 && now - entry.window_start >= options_.period) {
      TakeSummary(entry, due);
      entry.window_start = now;
      entry.seen = 0;
    }
  }
}

void LogRateLimiter::TakeAll(std::vector<SuppressedRepeats>* due) {
  for (auto& [key, entry] : entries_) TakeSummary(entry, due);
}

}  // namespace tidegate
