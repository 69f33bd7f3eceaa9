// SPDX-License-Identifier: Apache-2.0
#include "uplink/inflight_window.h"

#include <algorithm>

namespace tidegate::uplink {

void InflightWindow::Add(PreparedBatch batch, TimePoint now) {
  entries_.push_back(Entry{.batch = std::move(batch), .state = State::kNew, .due = now});
}

InflightWindow::Entry* InflightWindow::NextDue(TimePoint now) {
  for (Entry& e : entries_) {
    if (e.due <= now) return &e;
  }
  return nullptr;
}

void InflightWindow::Published(Entry& entry, TimePoint now) {
  entry.state = State::kAwaitingAck;
  entry.due = now + ack_timeout_;
  entry.publishes++;
}

void InflightWindow::BackOff(Entry& entry, TimePoint until) {
  entry.state = State::kBackingOff;
  entry.due = until;
}

InflightWindow::Entry* InflightWindow::Find(const std::string& batch_id) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.batch.range.batch_id == batch_id; });
  return it == entries_.end() ? nullptr : &*it;
}

std::optional<PreparedBatch> InflightWindow::Remove(const std::string& batch_id) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.batch.range.batch_id == batch_id; });
  if (it == entries_.end()) return std::nullopt;
  PreparedBatch batch = std::move(it->batch);
  entries_.erase(it);
  return batch;
}

std::optional<InflightWindow::TimePoint> InflightWindow::NextDeadline() const {
  if (entries_.empty()) return std::nullopt;
  TimePoint earliest = entries_.front().due;
  for (const Entry& e : entries_) earliest = std::min(earliest, e.due);
  return earliest;
}

void InflightWindow::RememberEarly(Completion completion) {
  if (completion.result.kind == SendResult::Kind::kRetry) return;  // it will be republished
  if (early_.size() >= kMaxEarly) early_.pop_front();
  early_.push_back(std::move(completion));
}

std::vector<Completion> InflightWindow::TakeMatchedEarly() {
  std::vector<Completion> matched;
  for (auto it = early_.begin(); it != early_.end();) {
    if (Find(it->batch_id) != nullptr) {
      matched.push_back(std::move(*it));
      it = early_.erase(it);
    } else {
      ++it;
    }
  }
  return matched;
}

}  // namespace tidegate::uplink
