// SPDX-License-Identifier: Apache-2.0
#include "filters/aggregator.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "common/byte_codec.h"
#include "common/sat_time.h"
#include "common/topic_filter.h"
#include "common/window_result.h"
#include "filters/measure_accumulator.h"
#include "filters/state_budget.h"
#include "filters/window_assigner.h"

namespace tidegate::filters {
namespace {

constexpr int64_t kIdleScanMs = 1'000;
// A hash node with its allocation header and its share of the bucket array (measured with
// mallinfo2 against 100,000 per-device windows: the estimate is then within a few percent).
constexpr size_t kNodeBytes = 72;
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr uint8_t kStateVersion = 1;

std::string LenPrefixed(std::string_view s) {
  return std::to_string(s.size()) + ":" + std::string(s);
}

// Reads "<len>:<bytes>" from the front of *s.
bool TakeLenPrefixed(std::string_view* s, std::string_view* out) {
  size_t colon = s->find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 9) return false;
  size_t n = 0;
  for (char c : s->substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (s->size() - colon - 1 < n) return false;
  *out = s->substr(colon + 1, n);
  s->remove_prefix(colon + 1 + n);
  return true;
}

struct CompiledMeasure {
  std::string field;  // JSON Pointer, or "count" for the number of events
  std::vector<Stat> stats;
  bool sketch = false;
};

struct Window {
  const std::string* key = nullptr;  // its key in the spec's map; prefixed, the checkpoint row
  std::string group;
  int64_t start = 0;
  int64_t end = 0;
  uint32_t revision = 0;        // the revision the next emitted result carries
  bool closed = false;          // its first result was emitted; now held for late data
  bool pending_update = false;  // changed by late data since the last result
  int64_t touched_ms = 0;       // processing time of the last change (state_ttl)
  std::vector<std::string> devices;
  // Per device above: its largest event time in this window. A device's watermark is
  // restored at start from these (the window holding its newest event cannot have been
  // released yet), so no per-device row is written for every event.
  std::vector<int64_t> device_max;
  std::vector<MeasureAccumulator> measures;
  bool dirty = false;        // in dirty_windows_: checkpoint it at the end of this Process
  bool purged = false;       // released; erased from the map at the end of this Process
  uint64_t member_heap = 0;  // StringHeapBytes of the device ids above
  uint64_t charged = 0;      // its cost in the StateAccount
};

struct Device {
  // Checkpointed through the windows it feeds, plus a row of its own only when its newest
  // event went into no window (too late for every window of its group).
  const std::string* id = nullptr;  // its key in the devices map
  int64_t max_event_time = kNoTime;
  int64_t last_seen_ms = 0;
  bool idle = false;
  bool dirty = false;            // in dirty_devices_
  bool advanced = false;         // in advanced_: its watermark moved or it went idle
  std::vector<Window*> windows;  // open and held windows it fed
  uint64_t charged = 0;          // its cost in the StateAccount
};

struct Group {
  int64_t purged_end = kNoTime;  // windows ending at or before this are gone for good
  int64_t touched_ms = 0;
  uint64_t charged = 0;  // its cost in the StateAccount
};

// Estimated memory of each kind of state (tidegate_aggregate_state_bytes and the budget).
uint64_t WindowBytes(const Window& w) {
  uint64_t bytes = kNodeBytes + sizeof(std::string) + sizeof(Window) + StringHeapBytes(*w.key) +
                   StringHeapBytes(w.group) + w.member_heap +
                   w.devices.capacity() * (sizeof(std::string) + sizeof(int64_t));
  for (const MeasureAccumulator& m : w.measures) bytes += m.MemoryBytes();
  return bytes;
}

// A device's window list holds pointers: their size is meant, not the windows'.
constexpr size_t kWindowPointerBytes = sizeof(Window*);  // NOLINT(bugprone-sizeof-expression)

uint64_t DeviceBytes(const std::string& id, const Device& d) {
  return kNodeBytes + sizeof(std::string) + sizeof(Device) + StringHeapBytes(id) +
         d.windows.capacity() * kWindowPointerBytes;
}

// At least the bytes EncodeWindow writes: reserved, so the checkpoint row is one allocation.
size_t EncodedWindowBound(const Window& w) {
  size_t bytes = 1 + 4 + w.group.size() + 8 + 4 + 1 + 1 + 8 + 4 + 4;
  for (const std::string& id : w.devices) bytes += 4 + id.size() + 8;
  for (const MeasureAccumulator& m : w.measures) bytes += m.EncodedBytesBound();
  return bytes;
}

uint64_t GroupBytes(const std::string& id) {
  return kNodeBytes + sizeof(std::string) + sizeof(Group) + StringHeapBytes(id);
}

// What adding a device of id_size characters to w would cost, with the growth of the vectors
// that would have to reallocate (doubling); 0 when it already fed w.
uint64_t MemberBytes(const Window& w, const Device& device, size_t id_size) {
  const auto& list = device.windows;
  if (std::find(list.begin(), list.end(), &w) != list.end()) return 0;
  uint64_t bytes = StringHeapBytes(id_size);
  if (w.devices.size() == w.devices.capacity()) {
    bytes += std::max<size_t>(w.devices.size(), 1) * (sizeof(std::string) + sizeof(int64_t));
  }
  if (list.size() == list.capacity())
    bytes += std::max<size_t>(list.size(), 1) * kWindowPointerBytes;
  return bytes;
}

}  // namespace

class Aggregator::Spec {
 public:
  // budget must outlive the spec.
  Spec(const AggregateSpec& spec, const Config& config, StateBudget* budget)
      : spec_(spec),
        assigner_(spec.window_size.count(), spec.window_slide.count()),
        max_future_skew_ms_(config.events.max_future_skew.count()),
        state_ttl_ms_(config.buffer.state_ttl.count()),
        ooo_ms_(spec.max_out_of_order.count()),
        lateness_ms_(spec.allowed_lateness.count()),
        idle_ms_(spec.idle_timeout.count()),
        name_prefix_(LenPrefixed(spec.name)),
        account_(budget) {
    for (const auto& [field, kinds] : spec.measures) {
      CompiledMeasure m;
      m.field = field;
      for (const std::string& k : kinds) {
        Stat s;
        if (ParseStat(k, &s)) {
          m.stats.push_back(s);
          m.sketch = m.sketch || IsQuantile(s);
        }
      }
      blank_measures_bytes_ += MeasureAccumulator(m.sketch).MemoryBytes();
      measures_.push_back(std::move(m));
    }
    fingerprint_ = Fingerprint();
  }

  const std::string& name() const { return spec_.name; }
  AggregationStats& stats() { return stats_; }
  bool forward_raw() const { return spec_.forward_raw; }
  bool Matches(std::string_view topic) const { return TopicMatches(spec_.match, topic); }
  // The wall clock of this Process; every `now` below is the age line.
  void SetWall(const TimeReading& now) { wall_ = now; }

  // Applies one event; sets *late_side when the raw event should be forwarded as late, and
  // *over_budget when a window it belongs to could not be kept within the state budget.
  void Apply(const Event& e, int64_t now, bool* late_side, bool* over_budget,
             std::map<std::string, int64_t>* counters);
  // Closes, emits, purges and evicts what time allows; writes the checkpoint changes.
  void Settle(int64_t now, std::vector<Event>* out, std::vector<StateChange>* state,
              std::map<std::string, int64_t>* counters);
  // Restores one checkpoint row (type and key after the spec's name). False if bad.
  bool LoadRow(char type, std::string_view rest, std::string_view value, int64_t now);
  void FinishLoad(int64_t now);
  bool fingerprint_matches(std::string_view stored) const { return stored == fingerprint_; }
  std::string FingerprintKey() const { return "s|" + name_prefix_; }
  const std::string& fingerprint() const { return fingerprint_; }
  // Another aggregation's refusal frees closed windows here too: the budget is shared.
  bool reclaim_wanted() const { return reclaim_wanted_; }
  void WantReclaim() { reclaim_wanted_ = true; }
  bool fingerprint_written = false;

 private:
  std::string Fingerprint() const;
  bool Extract(const Event& e);
  Window* Create(const std::string& key, int64_t start, int64_t now);
  // The state budget's side of Apply (policy in aggregator.h): each returns null, creating
  // nothing, when the new state would not fit.
  Device* FindOrAdmitDevice(const std::string& id, bool* inserted);
  Window* AdmitWindow(const std::string& key, int64_t start, const Device& device, size_t id_size,
                      int64_t now);
  void OverBudget(size_t windows, bool* over_budget, std::map<std::string, int64_t>* counters);
  // After a refusal, at most once per kIdleScanMs: frees what holds no pending result.
  void Reclaim(int64_t now, std::vector<Event>* out, std::vector<StateChange>* state,
               std::map<std::string, int64_t>* counters);
  void ReleaseIdleDevices(std::vector<StateChange>* state);
  void ReleaseEmptyGroups(std::vector<StateChange>* state);
  void ForgetDevice(const std::string& id);
  void AddTo(Window& w, const std::string& device_id, Device& device, int64_t t, int64_t now);
  // The window of group_ starting at start, or null (then key_ holds its key).
  Window* FindWindow(const Device& device, int64_t start);
  bool CanClose(const Window& w) const;
  bool CanPurge(const Window& w) const;
  void Emit(Window& w, bool final, int64_t now, std::vector<Event>* out);
  void Purge(Window* w, std::vector<StateChange>* state);
  void IdleScan(int64_t now, std::vector<Event>* out, std::vector<StateChange>* state,
                std::map<std::string, int64_t>* counters);
  void Count(std::map<std::string, int64_t>* counters, const char* what,
             std::atomic<uint64_t>& stat) {
    stat.fetch_add(1, std::memory_order_relaxed);
    (*counters)["aggregate." + spec_.name + "." + what] += 1;
  }
  int64_t Watermark(const Device& d) const {
    return d.max_event_time == kNoTime ? kNoTime : SatSub(d.max_event_time, ooo_ms_);
  }
  // "<len>:<group>|<start>", built without allocating once *out has grown.
  static void WindowKey(const std::string& group, int64_t start, std::string* out) {
    char digits[24];
    out->clear();
    out->append(digits, std::to_chars(digits, digits + sizeof(digits), group.size()).ptr);
    out->push_back(':');
    out->append(group);
    out->push_back('|');
    out->append(digits, std::to_chars(digits, digits + sizeof(digits), start).ptr);
  }
  void MarkDirty(Window& w) {
    if (!w.dirty) dirty_windows_.push_back(&w);
    w.dirty = true;
  }
  void MarkDirty(Device& d) {
    if (!d.dirty) dirty_devices_.push_back(&d);
    d.dirty = true;
  }
  void MarkAdvanced(Device& d) {
    if (!d.advanced) advanced_.push_back(&d);
    d.advanced = true;
  }
  std::string RowKey(char type, std::string_view rest) const {
    std::string key;
    key.reserve(3 + name_prefix_.size() + rest.size());
    key.push_back(type);
    key.push_back('|');
    key += name_prefix_;
    key.push_back('|');
    key += rest;
    return key;
  }
  std::string EncodeWindow(const Window& w) const;
  std::string EncodeDevice(const Device& d) const;

  const AggregateSpec& spec_;
  const WindowAssigner assigner_;
  const int64_t max_future_skew_ms_, state_ttl_ms_, ooo_ms_, lateness_ms_, idle_ms_;
  const std::string name_prefix_;
  std::vector<CompiledMeasure> measures_;
  uint64_t blank_measures_bytes_ = 0;  // MemoryBytes of a new window's accumulators
  std::string fingerprint_;
  AggregationStats stats_;
  StateAccount account_;

  std::unordered_map<std::string, Window> windows_;
  std::unordered_map<std::string, Device> devices_;
  std::unordered_map<std::string, Group> groups_;
  // What changed in this Process; flags on the objects keep each listed once.
  std::vector<Window*> dirty_windows_, purged_;
  std::vector<Device*> dirty_devices_, advanced_;
  std::unordered_set<std::string> dirty_groups_;
  int64_t last_idle_scan_ = kNoTime;
  TimeReading wall_;             // wall clock readings of this Process (age_ms unused)
  bool reclaim_wanted_ = false;  // Apply refused a key since the last Reclaim
  int64_t last_reclaim_ = kNoTime;
  // Windows ending at or before this may have been released with their group by Reclaim, so
  // none of them is opened again (refused as over_budget). Checkpointed as the 'h' row.
  int64_t released_horizon_ = kNoTime;
  bool horizon_dirty_ = false;

  // Per event scratch, reused.
  simdjson::ondemand::parser parser_;
  std::string padded_;
  std::string group_;
  std::vector<std::optional<double>> values_;
  std::vector<int64_t> starts_;
  std::string key_;
};

std::string Aggregator::Spec::Fingerprint() const {
  std::string f = std::to_string(spec_.window_size.count()) + "/" +
                  std::to_string(spec_.window_slide.count()) + "/";
  for (const std::string& g : spec_.group_by) f += LenPrefixed(g);
  for (const CompiledMeasure& m : measures_) {
    f += "/" + LenPrefixed(m.field);
    for (Stat s : m.stats) f += std::string(",") + StatName(s);
  }
  return f;
}

// Fills group_ and values_ from the (privacy-filtered) payload.
bool Aggregator::Spec::Extract(const Event& e) {
  group_.clear();
  values_.assign(measures_.size(), std::nullopt);
  padded_.assign(e.payload);
  padded_.resize(e.payload.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  bool parsed = !parser_.iterate(padded_.data(), e.payload.size(), padded_.size()).get(doc);
  for (size_t i = 0; i < spec_.group_by.size(); ++i) {
    if (i > 0) group_.push_back('|');
    const std::string& g = spec_.group_by[i];
    if (g == "device_id") {
      group_ += e.device_id;
      continue;
    }
    simdjson::ondemand::value v;
    simdjson::ondemand::json_type type;
    if (!parsed || doc.at_pointer(g).get(v) || v.type().get(type)) continue;
    std::string_view text;
    if (type == simdjson::ondemand::json_type::string) {
      if (!v.get_string().get(text)) group_ += text;
    } else if (type == simdjson::ondemand::json_type::number ||
               type == simdjson::ondemand::json_type::boolean) {
      text = v.raw_json_token();
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' ||
                               text.back() == '\r')) {
        text.remove_suffix(1);
      }
      group_ += text;
    }
  }
  for (size_t i = 0; i < measures_.size(); ++i) {
    if (measures_[i].field == "count") {
      values_[i] = 1.0;
      continue;
    }
    simdjson::ondemand::value v;
    double d = 0;
    if (parsed && !doc.at_pointer(measures_[i].field).get(v) && !v.get_double().get(d) &&
        std::isfinite(d)) {
      values_[i] = d;
    }
  }
  return parsed;
}

Device* Aggregator::Spec::FindOrAdmitDevice(const std::string& id, bool* inserted) {
  auto it = devices_.find(id);
  *inserted = it == devices_.end();
  if (!*inserted) return &it->second;
  const uint64_t cost = kNodeBytes + sizeof(std::string) + sizeof(Device) + StringHeapBytes(id);
  if (!account_.Admits(cost)) return nullptr;
  it = devices_.try_emplace(id).first;
  it->second.id = &it->first;
  account_.Set(&it->second.charged, DeviceBytes(it->first, it->second));
  stats_.devices.fetch_add(1, std::memory_order_relaxed);
  return &it->second;
}

Window* Aggregator::Spec::AdmitWindow(const std::string& key, int64_t start, const Device& device,
                                      size_t id_size, int64_t now) {
  auto group = groups_.find(group_);
  uint64_t cost = kNodeBytes + sizeof(std::string) + sizeof(Window) + StringHeapBytes(key.size()) +
                  StringHeapBytes(group_.size()) + blank_measures_bytes_ +
                  MemberBytes(Window{}, device, id_size);
  if (group == groups_.end()) cost += GroupBytes(group_);
  if (!account_.Admits(cost)) return nullptr;
  if (group == groups_.end()) {
    group = groups_.try_emplace(group_).first;
    account_.Set(&group->second.charged, GroupBytes(group->first));
  }
  group->second.touched_ms = now;  // idle groups are forgotten after state_ttl
  return Create(key, start, now);
}

void Aggregator::Spec::OverBudget(size_t windows, bool* over_budget,
                                  std::map<std::string, int64_t>* counters) {
  *over_budget = true;
  reclaim_wanted_ = true;
  for (size_t i = 0; i < windows; ++i) Count(counters, "over_budget", stats_.over_budget);
}

void Aggregator::Spec::ForgetDevice(const std::string& id) {
  auto it = devices_.find(id);
  account_.Release(&it->second.charged);
  devices_.erase(it);
  stats_.devices.fetch_sub(1, std::memory_order_relaxed);
}

Window* Aggregator::Spec::Create(const std::string& key, int64_t start, int64_t now) {
  auto it = windows_.try_emplace(key).first;
  Window& w = it->second;
  w.key = &it->first;
  w.group = group_;
  w.start = start;
  w.end = start + assigner_.size();
  w.touched_ms = now;
  for (const CompiledMeasure& m : measures_) w.measures.emplace_back(m.sketch);
  account_.Set(&w.charged, WindowBytes(w));
  stats_.open_windows.fetch_add(1, std::memory_order_relaxed);
  return &w;
}

void Aggregator::Spec::AddTo(Window& w, const std::string& device_id, Device& device, int64_t t,
                             int64_t now) {
  for (size_t i = 0; i < measures_.size(); ++i) {
    if (values_[i]) w.measures[i].Add(*values_[i], t);
  }
  auto it = std::find(w.devices.begin(), w.devices.end(), device_id);
  if (it == w.devices.end()) {
    w.devices.push_back(device_id);
    w.device_max.push_back(t);
    w.member_heap += StringHeapBytes(w.devices.back());
    device.windows.push_back(&w);
    account_.Set(&device.charged, DeviceBytes(*device.id, device));
  } else {
    int64_t& max = w.device_max[static_cast<size_t>(it - w.devices.begin())];
    max = std::max(max, t);
  }
  account_.Set(&w.charged, WindowBytes(w));
  w.touched_ms = now;
  MarkDirty(w);
}

// A device feeds few windows (one or two per group) and its list holds only live ones (Purge
// takes a window out of it): scanning it first spares most events the hash lookup of the
// window's key, a cache miss each with thousands of devices.
Window* Aggregator::Spec::FindWindow(const Device& device, int64_t start) {
  for (Window* w : device.windows) {
    if (w->start == start && w->group == group_) return w;
  }
  WindowKey(group_, start, &key_);
  auto it = windows_.find(key_);
  return it == windows_.end() ? nullptr : &it->second;
}

void Aggregator::Spec::Apply(const Event& e, int64_t now, bool* late_side, bool* over_budget,
                             std::map<std::string, int64_t>* counters) {
  const int64_t t = e.event_time_ms;
  if (t > SatAdd(wall_.wall_high_ms, max_future_skew_ms_)) {
    return Count(counters, "future", stats_.future);
  }
  if (state_ttl_ms_ > 0 && t < SatSub(wall_.wall_low_ms, state_ttl_ms_)) {
    return Count(counters, "too_old", stats_.too_old);
  }
  Extract(e);
  assigner_.Assign(t, &starts_);
  bool inserted = false;
  Device* found = FindOrAdmitDevice(e.device_id, &inserted);
  if (found == nullptr) return OverBudget(starts_.size(), over_budget, counters);
  Device& device = *found;
  device.last_seen_ms = now;
  device.idle = false;
  bool captured = false;  // t went into a window, whose checkpoint then records it
  size_t refused = 0;     // windows t belongs to that did not fit the state budget
  const int64_t wm = Watermark(device);
  for (int64_t start : starts_) {
    const int64_t end = start + assigner_.size();
    Window* existing = FindWindow(device, start);
    if (existing == nullptr) {
      auto group = groups_.find(group_);
      const int64_t purged_end = group == groups_.end() ? kNoTime : group->second.purged_end;
      if (end <= purged_end || (wm != kNoTime && SatAdd(end, lateness_ms_) <= wm)) {
        Count(counters, "too_late", stats_.too_late);
        if (spec_.late_events == LatePolicy::kSideOutput) *late_side = true;
        continue;
      }
      Window* w = end <= released_horizon_
                      ? nullptr
                      : AdmitWindow(key_, start, device, e.device_id.size(), now);
      if (w != nullptr) AddTo(*w, e.device_id, device, t, now);
      refused += w == nullptr ? 1 : 0;
      captured = captured || w != nullptr;
      continue;
    }
    Window& w = *existing;
    const bool joins = !w.closed || spec_.late_events == LatePolicy::kUpdate;
    const uint64_t more = joins ? MemberBytes(w, device, e.device_id.size()) : 0;
    if (more > 0 && !account_.Admits(more)) {
      ++refused;
      continue;
    }
    if (!w.closed) {
      AddTo(w, e.device_id, device, t, now);
      captured = true;
      continue;
    }
    switch (spec_.late_events) {
      case LatePolicy::kUpdate:
        AddTo(w, e.device_id, device, t, now);
        captured = true;
        w.pending_update = true;
        Count(counters, "late_updated", stats_.late_updated);
        break;
      case LatePolicy::kDrop:
        Count(counters, "late_dropped", stats_.late_dropped);
        break;
      case LatePolicy::kSideOutput:
        Count(counters, "late_side_output", stats_.late_side_output);
        *late_side = true;
        break;
    }
  }
  if (refused > 0) OverBudget(refused, over_budget, counters);
  // A device admitted only for windows that were all refused keeps nothing.
  if (inserted && refused > 0 && device.windows.empty()) return ForgetDevice(e.device_id);
  if (t > device.max_event_time) {
    device.max_event_time = t;
    MarkAdvanced(device);
    if (!captured) MarkDirty(device);
  }
}

bool Aggregator::Spec::CanClose(const Window& w) const {
  for (const std::string& id : w.devices) {
    auto it = devices_.find(id);
    if (it == devices_.end() || it->second.idle) continue;
    int64_t wm = Watermark(it->second);
    if (wm == kNoTime || wm < w.end) return false;
  }
  return true;
}

bool Aggregator::Spec::CanPurge(const Window& w) const {
  const int64_t until = SatAdd(w.end, lateness_ms_);
  for (const std::string& id : w.devices) {
    auto it = devices_.find(id);
    if (it == devices_.end()) continue;
    int64_t wm = Watermark(it->second);
    if (wm == kNoTime || wm < until) return false;
  }
  return true;
}

void Aggregator::Spec::Emit(Window& w, bool final, int64_t now, std::vector<Event>* out) {
  WindowResult r;
  r.name = spec_.name;
  r.group_key = w.group;
  r.window_start = w.start;
  r.window_end = w.end;
  r.revision = w.revision++;
  r.final = final;
  r.measures.reserve(measures_.size());
  for (size_t i = 0; i < measures_.size(); ++i) {
    r.measures.push_back(
        MeasureResult{measures_[i].field, w.measures[i].Results(measures_[i].stats)});
  }
  Event e;
  e.kind = RecordKind::kWindowResult;
  e.priority = kWindowResultPriority;
  e.topic = spec_.name;
  e.device_id = w.group;
  e.event_time_ms = w.start;
  e.ingest_time_ms = wall_.wall_ms;
  e.age_ms = now;
  e.payload = EncodeWindowResult(r);
  out->push_back(std::move(e));
  w.pending_update = false;
  MarkDirty(w);
  stats_.results.fetch_add(1, std::memory_order_relaxed);
}

void Aggregator::Spec::Purge(Window* w, std::vector<StateChange>* state) {
  for (const std::string& id : w->devices) {
    auto it = devices_.find(id);
    if (it == devices_.end()) continue;
    auto& list = it->second.windows;
    list.erase(std::remove(list.begin(), list.end(), w), list.end());
  }
  auto git = groups_.find(w->group);
  if (git != groups_.end()) {
    git->second.purged_end = std::max(git->second.purged_end, w->end);
    dirty_groups_.insert(w->group);
  }
  (w->closed ? stats_.held_windows : stats_.open_windows).fetch_sub(1, std::memory_order_relaxed);
  account_.Release(&w->charged);
  state->push_back(StateChange{.key = RowKey('w', *w->key), .erase = true});
  w->purged = true;
  purged_.push_back(w);  // erased once nothing this Process points at it any more
}

void Aggregator::Spec::IdleScan(int64_t now, std::vector<Event>* out,
                                std::vector<StateChange>* state,
                                std::map<std::string, int64_t>* counters) {
  int64_t oldest_active = kNoTime;
  std::vector<std::string> gone;
  for (auto& [id, device] : devices_) {
    const int64_t silent = now - device.last_seen_ms;
    if (state_ttl_ms_ > 0 && silent >= state_ttl_ms_ && !device.dirty && !device.advanced) {
      gone.push_back(id);
      continue;
    }
    if (!device.idle && silent >= idle_ms_) {
      device.idle = true;
      MarkAdvanced(device);  // its windows may close now
    }
    int64_t wm = Watermark(device);
    if (!device.idle && wm != kNoTime && (oldest_active == kNoTime || wm < oldest_active)) {
      oldest_active = wm;
    }
  }
  stats_.watermark_lag_ms.store(oldest_active == kNoTime ? 0 : wall_.wall_high_ms - oldest_active,
                                std::memory_order_relaxed);
  for (const std::string& id : gone) {
    Device& device = devices_[id];
    std::vector<Window*> windows = device.windows;
    for (Window* w : windows) {
      if (!w->closed)
        Emit(*w, /*final=*/false, now, out);
      else if (w->pending_update)
        Emit(*w, /*final=*/true, now, out);
      Count(counters, "evicted", stats_.evicted);
      Purge(w, state);
    }
    account_.Release(&device.charged);
    devices_.erase(id);
    state->push_back(StateChange{.key = RowKey('d', LenPrefixed(id)), .erase = true});
    stats_.devices.fetch_sub(1, std::memory_order_relaxed);
  }
  if (state_ttl_ms_ > 0) {
    for (auto it = groups_.begin(); it != groups_.end();) {
      if (now - it->second.touched_ms >= state_ttl_ms_) {
        dirty_groups_.erase(it->first);
        account_.Release(&it->second.charged);
        state->push_back(StateChange{.key = RowKey('g', LenPrefixed(it->first)), .erase = true});
        it = groups_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void Aggregator::Spec::Settle(int64_t now, std::vector<Event>* out, std::vector<StateChange>* state,
                              std::map<std::string, int64_t>* counters) {
  if (last_idle_scan_ == kNoTime || now - last_idle_scan_ >= kIdleScanMs) {
    last_idle_scan_ = now;
    IdleScan(now, out, state, counters);
  }
  // Close and purge what the advanced watermarks (and newly idle devices) allow. Purge
  // edits device window lists, so work from a snapshot of the candidates.
  std::vector<Window*> candidates;
  for (Device* d : advanced_) {
    candidates.insert(candidates.end(), d->windows.begin(), d->windows.end());
    d->advanced = false;
  }
  advanced_.clear();
  std::sort(candidates.begin(), candidates.end(), [](const Window* a, const Window* b) {
    return a->start != b->start ? a->start < b->start : a < b;
  });
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (Window* w : candidates) {
    if (!w->closed && CanClose(*w)) {
      Emit(*w, /*final=*/true, now, out);
      w->closed = true;
      stats_.open_windows.fetch_sub(1, std::memory_order_relaxed);
      stats_.held_windows.fetch_add(1, std::memory_order_relaxed);
    }
    if (w->closed && CanPurge(*w)) {
      if (w->pending_update) Emit(*w, /*final=*/true, now, out);
      Purge(w, state);
    }
  }
  if (reclaim_wanted_ && (last_reclaim_ == kNoTime || now - last_reclaim_ >= kIdleScanMs)) {
    last_reclaim_ = now;
    Reclaim(now, out, state, counters);
  }
  // Late updates to windows still held.
  for (Window* w : dirty_windows_) {
    if (!w->purged && w->closed && w->pending_update) Emit(*w, /*final=*/true, now, out);
  }
  for (Window* w : dirty_windows_) {
    w->dirty = false;
    if (w->purged) continue;
    state->push_back(StateChange{.key = RowKey('w', *w->key), .value = EncodeWindow(*w)});
  }
  dirty_windows_.clear();
  for (Window* w : purged_) windows_.erase(windows_.find(*w->key));
  purged_.clear();
  for (Device* d : dirty_devices_) {
    d->dirty = false;
    state->push_back(
        StateChange{.key = RowKey('d', LenPrefixed(*d->id)), .value = EncodeDevice(*d)});
  }
  dirty_devices_.clear();
  for (const std::string& g : dirty_groups_) {
    auto it = groups_.find(g);
    if (it == groups_.end()) continue;
    std::string value;
    ByteWriter w(&value);
    w.Put<int64_t>(it->second.purged_end);
    w.Put<int64_t>(it->second.touched_ms);
    state->push_back(StateChange{.key = RowKey('g', LenPrefixed(g)), .value = std::move(value)});
  }
  dirty_groups_.clear();
  if (!fingerprint_written) {
    state->push_back(StateChange{.key = FingerprintKey(), .value = fingerprint_});
    fingerprint_written = true;
  }
  if (horizon_dirty_) {
    std::string value;
    ByteWriter(&value).Put<int64_t>(released_horizon_);
    state->push_back(StateChange{.key = RowKey('h', ""), .value = std::move(value)});
    horizon_dirty_ = false;
  }
  stats_.state_bytes.store(account_.bytes(), std::memory_order_relaxed);
}

// Frees closed windows (their result is out; only late data could still change them), least
// recently updated first, until the budget is at most 3/4 used; then the idle devices and the
// groups these leave without a window. Their later events are then too late, as after
// allowed_lateness. Open windows are never released: their result would be cut short.
void Aggregator::Spec::Reclaim(int64_t now, std::vector<Event>* out,
                               std::vector<StateChange>* state,
                               std::map<std::string, int64_t>* counters) {
  reclaim_wanted_ = false;
  std::vector<Window*> held;
  for (auto& [key, w] : windows_) {
    if (w.closed && !w.purged) held.push_back(&w);
  }
  std::sort(held.begin(), held.end(), [](const Window* a, const Window* b) {
    return a->touched_ms != b->touched_ms ? a->touched_ms < b->touched_ms : a->start < b->start;
  });
  const StateBudget& budget = account_.budget();
  for (Window* w : held) {
    if (budget.used_bytes() <= budget.max_bytes() / 4 * 3) break;
    if (w->pending_update) Emit(*w, /*final=*/true, now, out);
    Purge(w, state);
    Count(counters, "budget_released", stats_.budget_released);
  }
  ReleaseIdleDevices(state);
  ReleaseEmptyGroups(state);
}

void Aggregator::Spec::ReleaseIdleDevices(std::vector<StateChange>* state) {
  for (auto it = devices_.begin(); it != devices_.end();) {
    Device& d = it->second;
    if (!d.windows.empty() || !d.idle || d.dirty || d.advanced) {
      ++it;
      continue;
    }
    account_.Release(&d.charged);
    state->push_back(StateChange{.key = RowKey('d', LenPrefixed(it->first)), .erase = true});
    stats_.devices.fetch_sub(1, std::memory_order_relaxed);
    it = devices_.erase(it);
  }
}

void Aggregator::Spec::ReleaseEmptyGroups(std::vector<StateChange>* state) {
  std::unordered_set<std::string_view> in_use;
  for (const auto& [key, w] : windows_) {
    if (!w.purged) in_use.insert(w.group);
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (in_use.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (it->second.purged_end > released_horizon_) {
      released_horizon_ = it->second.purged_end;
      horizon_dirty_ = true;
    }
    dirty_groups_.erase(it->first);
    account_.Release(&it->second.charged);
    state->push_back(StateChange{.key = RowKey('g', LenPrefixed(it->first)), .erase = true});
    it = groups_.erase(it);
  }
}

std::string Aggregator::Spec::EncodeWindow(const Window& w) const {
  std::string out;
  out.reserve(EncodedWindowBound(w));
  ByteWriter b(&out);
  b.Put<uint8_t>(kStateVersion);
  b.PutString(w.group);
  b.Put<int64_t>(w.start);
  b.Put<uint32_t>(w.revision);
  b.Put<uint8_t>(w.closed ? 1 : 0);
  b.Put<uint8_t>(w.pending_update ? 1 : 0);
  b.Put<int64_t>(w.touched_ms);
  b.Put<uint32_t>(static_cast<uint32_t>(w.devices.size()));
  for (size_t i = 0; i < w.devices.size(); ++i) {
    b.PutString(w.devices[i]);
    b.Put<int64_t>(w.device_max[i]);
  }
  b.Put<uint32_t>(static_cast<uint32_t>(w.measures.size()));
  for (const MeasureAccumulator& m : w.measures) m.Encode(b);
  return out;
}

std::string Aggregator::Spec::EncodeDevice(const Device& d) const {
  std::string out;
  ByteWriter b(&out);
  b.Put<int64_t>(d.max_event_time);
  b.Put<int64_t>(d.last_seen_ms);
  return out;
}

bool Aggregator::Spec::LoadRow(char type, std::string_view rest, std::string_view value,
                               int64_t now) {
  ByteReader in(value);
  if (type == 'd') {
    std::string_view id;
    Device d;
    if (!TakeLenPrefixed(&rest, &id) || !rest.empty() || !in.Get(&d.max_event_time) ||
        !in.Get(&d.last_seen_ms) || in.left() != 0) {
      return false;
    }
    // A restart is not silence: every device gets a fresh idle_timeout from now.
    d.last_seen_ms = now;
    auto [it, inserted] = devices_.emplace(std::string(id), std::move(d));
    if (inserted) {
      it->second.id = &it->first;
      stats_.devices.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
  }
  if (type == 'h') {
    return rest.empty() && in.Get(&released_horizon_) && in.left() == 0;
  }
  if (type == 'g') {
    std::string_view id;
    Group g;
    if (!TakeLenPrefixed(&rest, &id) || !rest.empty() || !in.Get(&g.purged_end) ||
        !in.Get(&g.touched_ms) || in.left() != 0) {
      return false;
    }
    g.touched_ms = now;
    groups_[std::string(id)] = g;
    return true;
  }
  if (type != 'w') return false;
  uint8_t version = 0, closed = 0, pending = 0;
  uint32_t n_devices = 0, n_measures = 0;
  Window w;
  if (!in.Get(&version) || version != kStateVersion || !in.GetString(&w.group) ||
      !in.Get(&w.start) || !in.Get(&w.revision) || !in.Get(&closed) || !in.Get(&pending) ||
      !in.Get(&w.touched_ms) || !in.Get(&n_devices) || n_devices > in.left() / 12) {
    return false;
  }
  if (w.start > std::numeric_limits<int64_t>::max() - assigner_.size()) return false;
  w.end = w.start + assigner_.size();
  w.closed = closed != 0;
  w.pending_update = pending != 0;
  w.touched_ms = now;
  w.devices.resize(n_devices);
  w.device_max.resize(n_devices);
  for (size_t i = 0; i < n_devices; ++i) {
    if (!in.GetString(&w.devices[i]) || !in.Get(&w.device_max[i])) return false;
  }
  if (!in.Get(&n_measures) || n_measures != measures_.size()) return false;
  for (const CompiledMeasure& m : measures_) {
    w.measures.emplace_back(m.sketch);
    if (!w.measures.back().Decode(in)) return false;
  }
  if (in.left() != 0) return false;
  std::string key;
  WindowKey(w.group, w.start, &key);
  if (key != rest) return false;
  auto [it, inserted] = windows_.try_emplace(std::move(key), std::move(w));
  if (!inserted) return false;
  it->second.key = &it->first;
  (it->second.closed ? stats_.held_windows : stats_.open_windows)
      .fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Aggregator::Spec::FinishLoad(int64_t now) {
  for (auto& [key, w] : windows_) {
    for (size_t i = 0; i < w.devices.size(); ++i) {
      auto [it, inserted] = devices_.try_emplace(w.devices[i]);
      if (inserted) {
        it->second.id = &it->first;
        it->second.last_seen_ms = now;
        stats_.devices.fetch_add(1, std::memory_order_relaxed);
      }
      it->second.windows.push_back(&w);
      it->second.max_event_time = std::max(it->second.max_event_time, w.device_max[i]);
    }
    groups_.try_emplace(w.group, Group{.purged_end = kNoTime, .touched_ms = now});
  }
  // Restored state is charged as it is, also past the budget (a smaller budget than the last
  // run's): new keys are then refused until it drains.
  for (auto& [key, w] : windows_) {
    for (const std::string& id : w.devices) w.member_heap += StringHeapBytes(id);
    account_.Set(&w.charged, WindowBytes(w));
  }
  for (auto& [id, d] : devices_) account_.Set(&d.charged, DeviceBytes(id, d));
  for (auto& [id, g] : groups_) account_.Set(&g.charged, GroupBytes(id));
  stats_.state_bytes.store(account_.bytes(), std::memory_order_relaxed);
  fingerprint_written = true;
}

Aggregator::Aggregator(const Config& config)
    : budget_(std::make_unique<StateBudget>(config.buffer.state_max_bytes)) {
  for (const AggregateSpec& spec : config.aggregates) {
    specs_.push_back(std::make_unique<Spec>(spec, config, budget_.get()));
  }
}

Aggregator::~Aggregator() = default;

bool Aggregator::empty() const { return specs_.empty(); }
size_t Aggregator::size() const { return specs_.size(); }
const std::string& Aggregator::name(size_t i) const { return specs_[i]->name(); }
const AggregationStats& Aggregator::stats(size_t i) const { return specs_[i]->stats(); }
const StateBudget& Aggregator::budget() const { return *budget_; }

void Aggregator::RestoreCounters(const std::map<std::string, int64_t>& persisted) {
  for (auto& spec : specs_) {
    for (const auto& [what, stat] :
         {std::pair<const char*, std::atomic<uint64_t>*>{"over_budget", &spec->stats().over_budget},
          {"budget_released", &spec->stats().budget_released}}) {
      auto it = persisted.find("aggregate." + spec->name() + "." + what);
      if (it != persisted.end() && it->second > 0) {
        stat->store(static_cast<uint64_t>(it->second), std::memory_order_relaxed);
      }
    }
  }
}

size_t Aggregator::Load(const std::vector<std::pair<std::string, std::string>>& rows,
                        int64_t now_ms, std::vector<StateChange>* cleanup) {
  // Rows are "<type>|<len>:<name>|<rest>"; fingerprints ("s") first decide which
  // aggregations' state still fits their configuration.
  auto split = [](std::string_view key, char* type, std::string_view* name,
                  std::string_view* rest) {
    if (key.size() < 3 || key[1] != '|') return false;
    *type = key[0];
    key.remove_prefix(2);
    if (!TakeLenPrefixed(&key, name)) return false;
    if (*type == 's') {
      *rest = {};
      return key.empty();
    }
    if (key.empty() || key[0] != '|') return false;
    *rest = key.substr(1);
    return true;
  };
  auto find = [&](std::string_view name) -> Spec* {
    for (auto& s : specs_) {
      if (s->name() == name) return s.get();
    }
    return nullptr;
  };
  std::unordered_set<Spec*> valid;
  for (const auto& [key, value] : rows) {
    char type = 0;
    std::string_view name, rest;
    if (!split(key, &type, &name, &rest) || type != 's') continue;
    Spec* spec = find(name);
    if (spec != nullptr && spec->fingerprint_matches(value)) valid.insert(spec);
  }
  size_t dropped = 0;
  for (const auto& [key, value] : rows) {
    char type = 0;
    std::string_view name, rest;
    bool ok = split(key, &type, &name, &rest);
    Spec* spec = ok ? find(name) : nullptr;
    if (ok && type == 's' && spec != nullptr && valid.count(spec) != 0) continue;
    if (spec == nullptr || valid.count(spec) == 0 || type == 's' ||
        !spec->LoadRow(type, rest, value, now_ms)) {
      cleanup->push_back(StateChange{.key = key, .erase = true});
      ++dropped;
    }
  }
  for (auto& s : specs_) {
    s->FinishLoad(now_ms);
    if (valid.count(s.get()) == 0) s->fingerprint_written = false;
  }
  return dropped;
}

void Aggregator::Process(std::vector<Event>& records, const TimeReading& now,
                         std::vector<StateChange>* state,
                         std::map<std::string, int64_t>* counters) {
  if (specs_.empty()) return;
  const int64_t now_ms = now.age_ms;
  for (auto& spec : specs_) spec->SetWall(now);
  const size_t n = records.size();
  for (size_t i = 0; i < n; ++i) {
    Event& e = records[i];
    if (e.kind != RecordKind::kEvent) continue;
    bool keep_off = false;
    bool late_side = false;
    bool over_budget = false;
    for (auto& spec : specs_) {
      if (!spec->Matches(e.topic)) continue;
      keep_off = keep_off || !spec->forward_raw();
      spec->Apply(e, now_ms, &late_side, &over_budget, counters);
    }
    if (late_side) {
      e.flags |= kEventFlagLate;
      e.store = true;
    } else if (over_budget) {
      e.store = true;  // not (fully) aggregated: the raw event carries what the windows lack
    } else if (keep_off) {
      e.store = false;
    }
  }
  if (std::any_of(specs_.begin(), specs_.end(), [](auto& s) { return s->reclaim_wanted(); })) {
    for (auto& spec : specs_) spec->WantReclaim();
  }
  for (auto& spec : specs_) spec->Settle(now_ms, &records, state, counters);
}

}  // namespace tidegate::filters
