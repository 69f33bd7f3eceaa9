// SPDX-License-Identifier: Apache-2.0
// InflightWindow: the batches an asynchronous uplink has on the wire, at most `capacity`,
// each waiting for its own outcome. A batch is due (to be published) when it arrives, when
// its ack has not come within ack_timeout (republished: same id, same bytes), and when a
// retry's backoff has passed. Entries stay in arrival order, which is the order the
// preparing thread chose (highest priority, oldest first), so due batches go out in that
// order. Pure bookkeeping with times passed in; used by the uplink's sending thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "buffer/sqlite_store.h"
#include "uplink/async_transport.h"
#include "uplink/batch_encoder.h"

namespace tidegate::uplink {

// A batch read, recorded in flight and encoded, ready to go on the wire.
struct PreparedBatch {
  buffer::BatchRange range;
  EncodedBatch encoded;
  size_t records = 0;
};

class InflightWindow {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  enum class State {
    kNew,          // never published
    kAwaitingAck,  // published; due again when the ack timeout passes
    kBackingOff,   // the receiver said retry; due when the backoff passes
  };
  struct Entry {
    PreparedBatch batch;
    State state = State::kNew;
    TimePoint due{};
    uint64_t publishes = 0;
  };

  // REQUIRES: capacity >= 1, ack_timeout > 0.
  InflightWindow(size_t capacity, std::chrono::milliseconds ack_timeout)
      : capacity_(capacity), ack_timeout_(ack_timeout) {}

  bool HasRoom() const { return entries_.size() < capacity_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // Adds a batch, due at once. REQUIRES: HasRoom().
  void Add(PreparedBatch batch, TimePoint now);
  // The first entry due at `now`, in arrival order, or nullptr. Its state says why: kNew,
  // kAwaitingAck (its ack timed out) or kBackingOff (its backoff passed).
  Entry* NextDue(TimePoint now);
  // Records a publish of the entry: it now awaits its ack until now + ack_timeout.
  void Published(Entry& entry, TimePoint now);
  // The receiver asked for a retry: the entry is due again at `until`.
  void BackOff(Entry& entry, TimePoint until);
  // The entry for batch_id, or nullptr (an outcome for a batch not in flight: a late
  // duplicate ack, to be ignored).
  Entry* Find(const std::string& batch_id);
  // Removes and returns the batch (after its ack or rejection).
  std::optional<PreparedBatch> Remove(const std::string& batch_id);
  // The earliest time an entry becomes due, or nullopt when empty.
  std::optional<TimePoint> NextDeadline() const;

  // An ack or rejection for a batch not in the window. After a restart the broker delivers
  // the acks it queued for our session at once, often before the batch they answer (still
  // in flight in the buffer) is read back into the window: kept (the last kMaxEarly) and
  // applied when it arrives. A batch id is never reused, so a stale one matches nothing.
  static constexpr size_t kMaxEarly = 256;
  void RememberEarly(Completion completion);
  // Outcomes remembered earlier for batches now in the window (removed from memory).
  std::vector<Completion> TakeMatchedEarly();

 private:
  size_t capacity_;
  std::chrono::milliseconds ack_timeout_;
  std::deque<Entry> entries_;
  std::deque<Completion> early_;  // at most kMaxEarly, oldest first
};

}  // namespace tidegate::uplink
